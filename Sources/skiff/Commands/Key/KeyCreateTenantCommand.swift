import ArgumentParser
import SkiffCore

struct KeyCreateTenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-tenant",
        abstract: "Create a tenant: a new restore key, protected by a passphrase, and its public key.")

    @Option(name: .long, help: ArgumentHelp("Where to write the restore key.", valueName: "FILE"))
    var out: String
    @Option(name: .long, help: ArgumentHelp("Also write the tenant public key (for auditors and sites) here.", valueName: "FILE"))
    var publicOut: String?
    @Option(name: .long, help: "AEAD: aes-256-gcm or chacha20-poly1305.")
    var aead: String = RepositoryConfig.defaultAEAD.name
    @Option(name: .long, help: ArgumentHelp("scrypt cost as log2(N) (default 17: 128 MiB of memory).", valueName: "N"))
    var kdfLogN: UInt8 = ScryptParameters.standard.logN
    @Option(name: .long, help: ArgumentHelp("Chunk size for database files (SQLite) in a new tenant: a power of two from 4096 to 1048576 (default 32768).", valueName: "BYTES"))
    var databaseChunkSize: Int = RepositoryConfig.defaultPagedChunkSize
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() throws {
        guard let algorithm = AEADAlgorithm(name: aead) else {
            throw CommandFailure(.usage, "unknown AEAD \(aead): use \(AEADAlgorithm.allCases.map(\.name).joined(separator: " or "))")
        }
        let key = try RestoreKey.generate(config: RepositoryConfig(tenant: .generate(), aead: algorithm, pagedChunkSize: databaseChunkSize))
        let passphrase = try PassphraseSource(file: passphraseFile).read(prompt: "New passphrase for the restore key: ", confirm: true)
        let wrapped = try key.wrapped(passphrase: passphrase, parameters: ScryptParameters(logN: kdfLogN))
        try KeyFiles.writeNew(wrapped.armored, to: out)
        if let publicOut { try KeyFiles.writeNew(key.publicKey.armored, to: publicOut) }
        print("tenant \(key.tenant)")
        print("restore key written to \(out): keep it offline; print a copy with `skiff key export --paper`")
        print("tenant public key fingerprint \(key.publicKey.fingerprint)")
    }
}
