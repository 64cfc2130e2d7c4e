import ArgumentParser
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffStorage

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List the sealed snapshots, verified against the tenant key (no passphrase needed).",
        discussion: "With a configuration, lists the seals of every site that answers, and which sites hold each.")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Any Skiff key file of the tenant: tenant public key, restore key or host key (default: the configuration's host_key, else the host key).", valueName: "FILE"))
    var key: String?
    @Option(name: .long, help: "Only this host's snapshots.")
    var host: String?
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only snapshots sealed between two times (ISO 8601, 'YYYY-MM-DD HH:MM', -2h).", valueName: "START END"))
    var between: [String] = []

    func validate() throws {
        if !between.isEmpty && between.count != 2 { throw ValidationError("--between takes two times: START END") }
    }

    func run() async throws {
        let tenant = try KeyFiles.tenantPublicKey(path: key ?? (try sites.loadIfPresent()?.hostKey) ?? KeyFiles.hostKeyPath(nil))
        let (catalog, problems) = try await ReadableRepository.usingAll(repository, sites, tenant: tenant) { repositories in
            var catalogs: [(source: String, catalog: SealCatalog)] = []
            for repo in repositories {
                catalogs.append((repo.location, try await SealCatalog.load(repository: repo, tenant: tenant, host: host)))
            }
            return SealCatalog.merged(catalogs)
        }
        for (source, problem) in problems { FileHandleOutput.standardError("warning: \(source): \(problem)\n") }
        var range: (Timestamp?, Timestamp?) = (nil, nil)
        if between.count == 2 {
            guard let start = TimeFormat.parse(between[0]), let end = TimeFormat.parse(between[1]) else {
                throw CommandFailure(.usage, "cannot read the times \(between[0]) \(between[1])")
            }
            range = (start, end)
        }
        let seals = catalog.seals(between: range.0, and: range.1, host: host)
        if output.json {
            try JSONOutput.print(seals.map { SnapshotListing($0, heldBy: catalog.holders[$0.hash] ?? []) })
        } else {
            let several = Set(catalog.holders.values.flatMap { $0 }).count > 1
            var table = TextTable(header: ["ID", "Time", "Host", "Seq", "Files", "Size", "Added"] + (several ? ["Held by"] : []))
            for seal in seals {
                table.rows.append([
                    String(seal.hash.hex.prefix(12)), TimeFormat.local(seal.time), seal.hostName, "\(seal.sequence)",
                    "\(seal.counts.files)", Units.bytes(Int64(seal.counts.logicalBytes)), Units.bytes(Int64(seal.counts.addedBytes)),
                ] + (several ? [(catalog.holders[seal.hash] ?? []).map { $0.replacingOccurrences(of: "site ", with: "") }.joined(separator: ",")] : []))
            }
            print(table.rendered)
            print("\(seals.count) snapshots")
        }
        if !problems.isEmpty { throw ExitCode(ExitStatus.integrity.rawValue) }
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
    var heldBy: [String]

    init(_ seal: Seal, heldBy: [String]) {
        self.heldBy = heldBy
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
