import ArgumentParser
import Foundation
import Logging
import SkiffBackup
import SkiffCore
import SkiffRestore
import SkiffStorage
import SkiffSystem

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up files and directories as one sealed snapshot.",
        discussion: "Exit code 3 means the snapshot was sealed but some entries could not be read (listed on standard error).")

    @Argument(help: ArgumentHelp("Files or directories to back up.", valueName: "PATH"))
    var paths: [String]
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var cache: CacheOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Host key file.", valueName: "FILE"))
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

    func run() async throws {
        let key = try KeyFiles.hostKey(hostKey)
        let repo = try await repository.open(for: key.tenant)
        let localCache = try cache.open(tenant: key.tenant.tenant, host: key.hostName)
        var options = BackupOptions()
        options.excludes = exclude
        options.excludeCaches = excludeCaches
        options.oneFileSystem = oneFileSystem
        options.tags = tag
        if let parallel { options.parallelFiles = max(1, parallel) }
        options.alwaysExcluded = [try RawPath(try repository.path).absolute(), try RawPath(cache.directory).absolute()]
        let statistics = BackupStatistics()
        let writer = try SnapshotWriter(
            hostKey: key, destination: RepositoryDestination(repository: repo), cache: localCache, options: options,
            logger: Logger(label: "skiff.backup"), statistics: statistics)
        let progress = ProgressDisplay { elapsed in
            let s = statistics.snapshot
            let rate = elapsed > 0 ? Int64(Double(s.bytesRead) / elapsed) : 0
            return "files \(s.filesSeen)  read \(Units.bytes(s.bytesRead))  new \(Units.bytes(s.bytesStored))  \(Units.bytes(rate))/s"
        }
        let started = Date()
        let result: BackupResult
        do {
            result = try await writer.backup(paths: paths.map { RawPath($0) }, time: TimeFormat.now())
        } catch {
            progress.stop()
            throw error
        }
        progress.stop()
        let elapsed = Date().timeIntervalSince(started)
        for warning in result.warnings { FileHandleOutput.standardError("warning: \(warning)\n") }
        if output.json {
            try JSONOutput.print(BackupReport(result: result, seconds: elapsed))
        } else {
            let s = result.statistics
            print("snapshot \(result.seal.hash.hex.prefix(12)) sealed (host \(result.seal.hostName), #\(result.seal.sequence))")
            print("  files: \(s.filesSeen) (\(s.filesRead) read, \(s.filesUnchanged) unchanged), directories: \(s.directories)")
            print("  data: \(Units.bytes(s.logicalBytes)) in snapshot, \(Units.bytes(s.bytesRead)) read, \(Units.bytes(s.bytesStored)) added in \(s.objectsStored) objects")
            print(String(format: "  time: %.2f s", elapsed))
        }
        if !result.warnings.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
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

    init(result: BackupResult, seconds: Double) {
        snapshot = result.seal.hash.hex
        host = result.seal.hostName
        sequence = result.seal.sequence
        time = TimeFormat.iso8601(result.seal.time)
        self.seconds = seconds
        statistics = result.statistics
        warnings = result.warnings
    }
}
