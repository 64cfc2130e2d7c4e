import ArgumentParser
import SkiffCore
import SkiffRestore
import SkiffStorage

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List the sealed snapshots, verified against the tenant key (no passphrase needed).")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Any Skiff key file of the tenant: tenant public key, restore key or host key (default: the host key).", valueName: "FILE"))
    var key: String?
    @Option(name: .long, help: "Only this host's snapshots.")
    var host: String?

    func run() async throws {
        let tenant = try KeyFiles.tenantPublicKey(path: key ?? KeyFiles.hostKeyPath(nil))
        let catalog = try await ReadableRepository.using(repository, sites, tenant: tenant) {
            try await SealCatalog.load(repository: $0, tenant: tenant, host: host)
        }
        for problem in catalog.problems { FileHandleOutput.standardError("warning: \(problem)\n") }
        if output.json {
            try JSONOutput.print(catalog.seals.map(SnapshotListing.init))
        } else {
            var table = TextTable(header: ["ID", "Time", "Host", "Seq", "Files", "Size", "Added"])
            for seal in catalog.seals {
                table.rows.append([
                    String(seal.hash.hex.prefix(12)), TimeFormat.local(seal.time), seal.hostName, "\(seal.sequence)",
                    "\(seal.counts.files)", Units.bytes(Int64(seal.counts.logicalBytes)), Units.bytes(Int64(seal.counts.addedBytes)),
                ])
            }
            print(table.rendered)
            print("\(catalog.seals.count) snapshots")
        }
        if !catalog.problems.isEmpty { throw ExitCode(ExitStatus.integrity.rawValue) }
    }
}

/// One snapshot in `skiff snapshots --json`.
struct SnapshotListing: Encodable {
    var id: String
    var host: String
    var sequence: UInt64
    var time: String
    var root: String
    var previous: String?
    var files: UInt64
    var directories: UInt64
    var logicalBytes: UInt64
    var addedObjects: UInt64
    var addedBytes: UInt64
    var hostKey: String

    init(_ seal: Seal) {
        id = seal.hash.hex
        host = seal.hostName
        sequence = seal.sequence
        time = TimeFormat.iso8601(seal.time)
        root = seal.root.hex
        previous = seal.previous.isZero ? nil : seal.previous.hex
        files = seal.counts.files
        directories = seal.counts.directories
        logicalBytes = seal.counts.logicalBytes
        addedObjects = seal.counts.addedObjects
        addedBytes = seal.counts.addedBytes
        hostKey = seal.certificate.publicKey.fingerprint
    }
}
