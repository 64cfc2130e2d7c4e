import ArgumentParser
import Foundation
import Logging
import SkiffCore
import SkiffRestore
import SkiffStorage
import SkiffSystem

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot (or part of it) into a folder, verifying every object.",
        discussion: """
            SNAPSHOT is "latest", a snapshot id (at least 6 hex digits) or host#sequence; or use --at.
            Files are restored at their full path under --to. Exit code 3 means some things could not
            be restored (ownership, devices, existing files): they are listed on standard error.
            """)

    @Argument(help: "Snapshot to restore: latest, an id prefix, or host#sequence.")
    var snapshot: String?
    @Option(name: .long, help: ArgumentHelp("Restore the newest snapshot at or before this time (ISO 8601, 'YYYY-MM-DD HH:MM', or -2h, -1d).", valueName: "TIME"))
    var at: String?
    @Option(name: .long, help: ArgumentHelp("Target folder (created if missing).", valueName: "DIR"))
    var to: String
    @Option(name: .long, help: ArgumentHelp("Only this file or directory of the snapshot.", valueName: "PATH"))
    var path: String?
    @Option(name: .long, help: "Host whose snapshots to choose from.")
    var host: String?
    @Flag(name: .long, help: "Replace existing files in the target.")
    var overwrite = false
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func validate() throws {
        if snapshot != nil && at != nil { throw ValidationError("give a SNAPSHOT or --at, not both") }
    }

    func run() async throws {
        let selector: SnapshotSelector
        if let at {
            guard let time = TimeFormat.parse(at) else { throw CommandFailure(.usage, "cannot read the time \(at)") }
            selector = .at(time, host: host)
        } else if let snapshot, snapshot != "latest" {
            selector = .id(snapshot)
        } else {
            selector = .latest(host: host)
        }
        let key = try KeyFiles.restoreKey(restoreKey, passphrase: PassphraseSource(file: passphraseFile))
        try await ReadableRepository.using(repository, sites, tenant: key.publicKey) { repo in
            try await restore(repo, key: key, selector: selector)
        }
    }

    private func restore(_ repo: Repository, key: RestoreKey, selector: SnapshotSelector) async throws {
        let catalog = try await SealCatalog.load(repository: repo, tenant: key.publicKey, host: host)
        let seal = try catalog.select(selector)
        if let problem = catalog.problems.first(where: { $0.involvedSeals.contains(seal.name) }) {
            throw problem
        }
        for problem in catalog.problems { FileHandleOutput.standardError("warning: \(problem)\n") }
        FileHandleOutput.standardError("restoring snapshot \(seal.hash.hex.prefix(12)) of \(seal.hostName) from \(TimeFormat.local(seal.time)) into \(to)\n")
        let reader = ObjectReader(repository: repo, restoreKey: key)
        let record = try await reader.snapshot(seal.root)
        var options = RestoreOptions()
        options.overwrite = overwrite
        let engine = RestoreEngine(reader: reader, options: options, logger: Logger(label: "skiff.restore"))
        let progress = ProgressDisplay { elapsed in
            "fetched \(Units.bytes(reader.bytesFetched.load(ordering: .relaxed)))  \(Units.bytes(Int64(Double(reader.bytesFetched.load(ordering: .relaxed)) / max(elapsed, 0.001))))/s"
        }
        let started = Date()
        let report: RestoreReport
        do {
            report = try await engine.restore(root: record.root, into: RawPath(to), subPath: path.map { RawPath($0) })
        } catch {
            progress.stop()
            throw error
        }
        progress.stop()
        let elapsed = Date().timeIntervalSince(started)
        for skipped in report.skippedExisting { FileHandleOutput.standardError("skipped (exists): \(skipped)\n") }
        for problem in report.notRestored { FileHandleOutput.standardError("not restored: \(problem)\n") }
        if report.notRestoredCount > report.notRestored.count {
            FileHandleOutput.standardError("not restored: \(report.notRestoredCount - report.notRestored.count) more\n")
        }
        if output.json {
            try JSONOutput.print(RestoreSummary(snapshot: seal.hash.hex, seconds: elapsed, report: report))
        } else {
            print("restored \(report.files) files, \(report.directories) directories, \(report.symlinks) symlinks, \(report.hardlinks) hard links, \(report.specialFiles) special files")
            print(String(format: "  %@ written in %.2f s", Units.bytes(report.bytesWritten), elapsed))
        }
        if !report.isComplete { throw ExitCode(ExitStatus.partial.rawValue) }
    }
}

/// `skiff restore --json` output.
struct RestoreSummary: Encodable {
    var snapshot: String
    var seconds: Double
    var report: RestoreReport
}
