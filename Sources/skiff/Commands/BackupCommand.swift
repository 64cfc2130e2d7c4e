import ArgumentParser
import Foundation
import Logging
import SkiffBackup
import SkiffConfig
import SkiffCore
import SkiffGraph
import SkiffReplication
import SkiffRestore
import SkiffStorage
import SkiffSystem

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up files and directories as one sealed snapshot, to a local repository or to the configured sites.",
        discussion: """
            With --repo, writes into that local repository. Otherwise writes once into the host's outbox and
            delivers to every site of the configuration at the same time; the command waits until the quorum
            of sites accepted the seal (--wait). Exit code 3: sealed, but some entries were unreadable.
            Exit code 8: sealed and queued, but fewer sites than the quorum accepted it in time; `skiff sync`
            or the next backup delivers the rest.
            """)

    @Argument(help: ArgumentHelp("Files or directories to back up.", valueName: "PATH"))
    var paths: [String]
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var cache: CacheOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Host key file (default: the configuration's host_key).", valueName: "FILE"))
    var hostKey: String?
    @Option(name: .long, help: ArgumentHelp("Skip entries matching this glob (a pattern with '/' matches the whole path). Repeatable.", valueName: "PATTERN"))
    var exclude: [String] = []
    @Flag(name: .long, help: "Skip the contents of directories marked with a CACHEDIR.TAG.")
    var excludeCaches = false
    @Flag(name: .long, help: "Do not cross filesystem boundaries below each path.")
    var oneFileSystem = false
    @Option(name: .long, help: "Tag the snapshot. Repeatable.")
    var tag: [String] = []
    @Option(name: .long, help: "Files read at once (default: cores + 1).")
    var parallel: Int?
    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the quorum of sites (default: the configuration's quorum_timeout).", valueName: "SECONDS"))
    var wait: Int?

    func run() async throws {
        if repository.repo != nil {
            try await backupLocally()
        } else {
            try await backupToSites()
        }
    }

    /// - Parameter scratch: where consistent copies of live SQLite databases are made.
    private func options(excluding extra: [RawPath], scratch: RawPath) throws -> BackupOptions {
        var options = try BackupOptions(excludes: exclude, excludeCaches: excludeCaches, oneFileSystem: oneFileSystem, excluding: extra,
                                        databaseCaptureFolder: scratch)
        options.tags = tag
        if let parallel { options.parallelFiles = max(1, parallel) }
        return options
    }

    private func backupLocally() async throws {
        let key = try KeyFiles.hostKey(hostKey)
        let repo = try await repository.open(for: key.tenant)
        let localCache = try cache.open(tenant: key.tenant.tenant, host: key.hostName)
        let options = try options(excluding: [RawPath(try repository.path), RawPath(cache.directory)], scratch: RawPath(cache.folder.databaseCopies))
        let result = try await write(key: key, destination: RepositoryDestination(repository: repo), cache: localCache, options: options)
        report(result.0, seconds: result.1, sites: nil)
        if !result.0.warnings.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
    }

    private func backupToSites() async throws {
        guard let configuration = try sites.loadIfPresent() else {
            throw CommandFailure(.usage, "give --repo DIR, or a host configuration with sites (--config FILE; default \(sites.configurationPath))")
        }
        guard !configuration.sites.isEmpty else { throw CommandFailure(.usage, "\(configuration.file) lists no sites") }
        let key = try KeyFiles.hostKey(hostKey ?? configuration.hostKey)
        let layout = configuration.stateLayout
        let replicator = try Replicator(
            layout: layout, sites: try SiteOptions.endpoints(configuration), tenant: key.tenant.tenant,
            quorum: configuration.quorum, logger: Logger(label: "skiff.replication"))
        let delivery = Task { await replicator.run() }
        let timeout = wait.map { Duration.seconds($0) } ?? configuration.quorumTimeout
        let (result, seconds, accepted, statuses) = try await withCleanup {
            let cacheFolder = cache.cacheDir.map { HostStateLayout.CacheFolder($0) } ?? layout.cacheFolder
            let localCache = try CacheOptions(cacheDir: cacheFolder.path).open(tenant: key.tenant.tenant, host: key.hostName)
            let options = try options(excluding: layout.ownFolders(cache: cacheFolder).map { RawPath($0) }, scratch: RawPath(layout.databaseCopies))
            let (result, seconds) = try await write(key: key, destination: replicator.destination, cache: localCache, options: options)
            let accepted = try await replicator.waitForQuorum(timeout: timeout)
            delivery.cancel()
            await delivery.value
            return (result, seconds, accepted, try await replicator.status(probeTimeout: SiteRanking.afterDeliveryProbeTimeout))
        } cleanup: {
            delivery.cancel()
            await delivery.value
            await replicator.shutdown()
        }
        report(result, seconds: seconds, sites: statuses)
        if accepted.count < configuration.quorum {
            FileHandleOutput.standardError(
                "skiff: snapshot sealed and queued, but only \(accepted.count) of the \(configuration.quorum) sites needed accepted it within \(timeout); `skiff sync` delivers the rest\n")
            throw ExitCode(ExitStatus.notDurableYet.rawValue)
        }
        if !result.warnings.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
    }

    private func write(key: HostKey, destination: any SnapshotDestination, cache: LocalCache, options: BackupOptions) async throws -> (BackupResult, Double) {
        let statistics = BackupStatistics()
        let writer = try SnapshotWriter(
            hostKey: key, destination: destination, cache: cache, options: options,
            logger: Logger(label: "skiff.backup"), statistics: statistics)
        let progress = ProgressDisplay { elapsed in
            let s = statistics.snapshot
            let rate = elapsed > 0 ? Int64(Double(s.bytesRead) / elapsed) : 0
            return "files \(s.filesSeen)  read \(Units.bytes(s.bytesRead))  new \(Units.bytes(s.bytesStored))  \(Units.bytes(rate))/s"
        }
        let started = Date()
        defer { progress.stop() }
        let result = try await writer.backup(paths: paths.map { RawPath($0) }, time: TimeFormat.now())
        return (result, Date().timeIntervalSince(started))
    }

    private func report(_ result: BackupResult, seconds: Double, sites: [SiteStatus]?) {
        for warning in result.warnings { FileHandleOutput.standardError("warning: \(warning)\n") }
        if output.json {
            try? JSONOutput.print(BackupReport(result: result, seconds: seconds, sites: sites))
            return
        }
        let s = result.statistics
        print("snapshot \(result.seal.hash.hex.prefix(12)) sealed (host \(result.seal.hostName), #\(result.seal.sequence))")
        print("  files: \(s.filesSeen) (\(s.filesRead) read, \(s.filesUnchanged) unchanged), directories: \(s.directories)")
        print("  data: \(Units.bytes(s.logicalBytes)) in snapshot, \(Units.bytes(s.bytesRead)) read, \(Units.bytes(s.bytesStored)) added in \(s.objectsStored) objects")
        print(String(format: "  time: %.2f s", seconds))
        for site in sites ?? [] {
            let state = site.backlogEntries == 0 ? "has it" : "behind by \(site.backlogEntries) entries (\(Units.bytes(site.backlogBytes)))"
            print("  site \(site.site): \(state)\(site.lastError.map { "; last error: \($0)" } ?? "")")
        }
    }
}

/// `skiff backup --json` output.
struct BackupReport: Encodable {
    var snapshot: String
    var host: String
    var sequence: UInt64
    var time: String
    var seconds: Double
    var statistics: BackupStatistics.Summary
    var warnings: [String]
    var sites: [SiteStatus]?

    init(result: BackupResult, seconds: Double, sites: [SiteStatus]?) {
        snapshot = result.seal.hash.hex
        host = result.seal.hostName
        sequence = result.seal.sequence
        time = TimeFormat.iso8601(result.seal.time)
        self.seconds = seconds
        statistics = result.statistics
        warnings = result.warnings
        self.sites = sites
    }
}
