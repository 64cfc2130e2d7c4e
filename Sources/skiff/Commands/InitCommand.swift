import ArgumentParser
import Foundation
import SkiffCore
import SkiffStorage
import SkiffSystem

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a repository, and the tenant and host keys if they do not exist yet.",
        discussion: """
            Without an existing --restore-key, creates the tenant's restore key (asking for a new
            passphrase) and prints where it is: move it off this host. Without an existing host key,
            issues one for --host, certified by the restore key.
            """)

    @OptionGroup var repository: RepositoryOptions
    @Option(name: .long, help: ArgumentHelp("Restore key file: used if it exists, created otherwise (default: ./skiff-restore.key).", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Host key file: used if it exists, created otherwise.", valueName: "FILE"))
    var hostKey: String?
    @Option(name: .long, help: "Host name for a new host key (default: this machine's name).")
    var host: String?
    @Option(name: .long, help: "AEAD for a new tenant: aes-256-gcm or chacha20-poly1305.")
    var aead: String = RepositoryConfig.defaultAEAD.name
    @Option(name: .long, help: ArgumentHelp("scrypt cost for a new restore key, as log2(N) (default 17: 128 MiB).", valueName: "N"))
    var kdfLogN: UInt8 = ScryptParameters.standard.logN
    @Option(name: .long, help: ArgumentHelp("Chunk size for database files (SQLite) in a new tenant: a power of two from 4096 to 1048576 (default 32768).", valueName: "BYTES"))
    var databaseChunkSize: Int = RepositoryConfig.defaultPagedChunkSize
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() async throws {
        let repoPath = try repository.path
        let hostKeyPath = KeyFiles.hostKeyPath(hostKey)
        let passphrase = PassphraseSource(file: passphraseFile)
        let key: HostKey
        if FileIO.exists(RawPath(hostKeyPath)) {
            key = try KeyFiles.hostKey(hostKeyPath)
            print("Using host key \(hostKeyPath) (host \(key.hostName), tenant \(key.tenant.tenant)).")
        } else {
            let restorePath = KeyFiles.restoreKeyPath(restoreKey) ?? "skiff-restore.key"
            let restore: RestoreKey
            if FileIO.exists(RawPath(restorePath)) {
                restore = try KeyFiles.restoreKey(restorePath, passphrase: passphrase)
                print("Using restore key \(restorePath) (tenant \(restore.tenant)).")
            } else {
                guard let algorithm = AEADAlgorithm(name: aead) else {
                    throw CommandFailure(.usage, "unknown AEAD \(aead): use \(AEADAlgorithm.allCases.map(\.name).joined(separator: " or "))")
                }
                restore = try RestoreKey.generate(config: RepositoryConfig(tenant: .generate(), aead: algorithm, pagedChunkSize: databaseChunkSize))
                let secret = try passphrase.read(prompt: "New passphrase for the restore key: ", confirm: true)
                let wrapped = try restore.wrapped(passphrase: secret, parameters: ScryptParameters(logN: kdfLogN))
                try KeyFiles.writeNew(wrapped.armored, to: restorePath)
                print("Created restore key \(restorePath) for tenant \(restore.tenant).")
                print("  It decrypts every snapshot: keep it OFF this host (with `skiff key export --paper` for a printed copy).")
            }
            let name = host ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
            key = try restore.issueHostKey(hostName: name, issuedAt: Int64(Date().timeIntervalSince1970))
            try KeyFiles.writeNew(key.armored, to: hostKeyPath)
            print("Created host key \(hostKeyPath) for host \(name). It can write snapshots but not read them.")
        }
        let store = try await PackedStore.open(folder: try FileSystemStore.create(at: RawPath(repoPath)))
        try await Repository(store: store, location: repoPath).initialize(with: key.tenant)
        print("Repository \(repoPath) is ready for tenant \(key.tenant.tenant).")
    }
}
