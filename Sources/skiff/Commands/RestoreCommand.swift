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
            SNAPSHOT is "latest" (the default), a snapshot id (at least 6 hex digits) or host#sequence; or use --at.
            Files are restored at their full path under --to. With a configuration (--config) every site that
            answers is a source: each object comes from the fastest healthy one, and a missing or damaged copy is
            read from the next one and reported. An interrupted restore of the same snapshot into the same folder
            continues where it stopped (finished files are not fetched again; the journal is in the cache folder).
            With --json, standard output is JSON lines: {"type":"progress",...} every 2 s, then {"type":"result",...}.
            Exit codes: 3 some things could not be restored (ownership, devices, existing files; listed on standard
            error); 6 an object is damaged or missing at every source; 9 --verify found differences.
            """)

    @Argument(help: "Snapshot to restore: latest, an id prefix, or host#sequence.")
    var positionalSnapshot: String?
    @OptionGroup var selection: SnapshotSelection
    @Option(name: .long, help: ArgumentHelp("Target folder (created if missing).", valueName: "DIR"))
    var to: String
    @Option(name: .long, help: ArgumentHelp("Only this file or directory of the snapshot (its path as backed up).", valueName: "PATH"))
    var path: String?
    @Flag(name: .long, help: "Replace existing files in the target (directories are merged).")
    var overwrite = false
    @Flag(name: .long, help: "List what would be written; write nothing.")
    var dryRun = false
    @Flag(name: .long, help: "After restoring, compare the tree with the snapshot (content and metadata).")
    var verify = false
    @Flag(name: .long, help: "Set owners by the recorded user and group names where this system knows them.")
    var ownersByName = false
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @Option(name: .long, help: ArgumentHelp("fastest: read each object from the fastest healthy site; listed: keep the --site order (or the configuration's) and read a later site only when an earlier one fails.", valueName: "ORDER"))
    var siteOrder: SourceOrder = .fastest
    @OptionGroup var cache: CacheOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() async throws {
        let selector = try selection.selector(positional: positionalSnapshot)
        let key = try KeyFiles.restoreKey(restoreKey, passphrase: PassphraseSource(file: passphraseFile))
        try await ReadableRepository.usingAll(repository, sites, tenant: key.publicKey) { repositories in
            let chosen = try await ChosenSnapshot.choose(selector, from: repositories, tenant: key.publicKey, host: selection.host)
            try await restore(chosen, key: key)
        }
    }

    private func restore(_ chosen: ChosenSnapshot, key: RestoreKey) async throws {
        FileHandleOutput.standardError("\(chosen.description)\n")
        let reader = ObjectReader(repositories: chosen.sources, restoreKey: key, order: siteOrder)
        let firstRead = ContinuousClock.now
        let record = try await reader.snapshot(chosen.seal.root)
        // Two round trips from a site (the snapshot, then its session key): the distance the
        // read-ahead is sized for.
        let roundTrip = (ContinuousClock.now - firstRead) / 2
        let target = try RawPath(to).absolute()
        let subPath = path.map { RawPath($0) }
        if dryRun { return try await listPlan(reader: reader, root: record.root, subPath: subPath, target: target) }

        var options = RestoreOptions()
        options.overwrite = overwrite
        options.ownersByName = ownersByName
        let remote = !ReadableRepository.isLocal(repository, sites)
        if remote { RemoteTuning(roundTrip: roundTrip).apply(to: &options) }
        let journal = try RestoreJournal(folder: cache.folder.restoreJournals, target: target.description + (path ?? ""), seal: chosen.seal.hash)
        if journal.isResuming { FileHandleOutput.standardError("continuing an interrupted restore into \(to)\n") }
        let engine = RestoreEngine(reader: reader, options: options, logger: Logger(label: "skiff.restore"), journal: journal)
        let totalBytes = subPath == nil ? Int64(record.summary.logicalBytes) : 0
        let totalFiles = subPath == nil ? Int(record.summary.files) : 0
        let progressLine: @Sendable (Double) -> ProgressLine = { elapsed in
            ProgressLine(files: engine.filesDone.load(ordering: .relaxed), totalFiles: totalFiles,
                         bytes: engine.bytesDone.load(ordering: .relaxed), totalBytes: totalBytes, seconds: elapsed)
        }
        let progress = ProgressDisplay { progressLine($0).text }
        let jsonProgress = output.json ? Task {
            let started = Date()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                if Task.isCancelled { break }
                try? JSONOutput.printLine(progressLine(Date().timeIntervalSince(started)))
            }
        } : nil
        let started = Date()
        let report: RestoreReport
        do {
            report = try await engine.restore(root: record.root, into: target, subPath: subPath)
        } catch {
            progress.stop()
            jsonProgress?.cancel()
            throw error
        }
        progress.stop()
        jsonProgress?.cancel()
        journal.remove()
        let elapsed = Date().timeIntervalSince(started)
        for skipped in report.skippedExisting { FileHandleOutput.standardError("skipped (exists): \(skipped)\n") }
        for problem in report.notRestored { FileHandleOutput.standardError("not restored: \(problem)\n") }
        if report.notRestoredCount > report.notRestored.count {
            FileHandleOutput.standardError("not restored: \(report.notRestoredCount - report.notRestored.count) more\n")
        }
        for copy in report.badCopies { FileHandleOutput.standardError("damaged copy, read elsewhere: \(copy)\n") }
        for (source, problem) in reader.unreachableSources { FileHandleOutput.standardError("source unavailable during the restore: \(source): \(problem)\n") }

        var differences: [String] = []
        if verify {
            var diffOptions = TreeDiffer.Options()
            if remote { RemoteTuning(roundTrip: roundTrip).apply(to: &diffOptions) }
            differences = try await TreeDiffer(reader: reader, options: diffOptions).differences(root: record.root, subPath: subPath, directory: target)
            for difference in differences { FileHandleOutput.standardError("differs: \(difference)\n") }
        }
        if output.json {
            try JSONOutput.printLine(RestoreSummary(snapshot: chosen.seal.hash.hex, heldBy: chosen.holders, seconds: elapsed, report: report,
                                                verified: verify ? differences.isEmpty : nil, differences: verify ? differences : nil))
        } else {
            print("restored \(report.files) files, \(report.directories) directories, \(report.symlinks) symlinks, \(report.hardlinks) hard links, \(report.specialFiles) special files")
            if report.resumedFiles > 0 { print("  \(report.resumedFiles) files were already done by the interrupted attempt") }
            print(String(format: "  %@ written in %.2f s (%@/s)", Units.bytes(report.bytesWritten), elapsed, Units.bytes(Int64(Double(report.bytesWritten) / max(elapsed, 0.001)))))
            if verify { print(differences.isEmpty ? "  verified: the tree matches the snapshot" : "  verify: \(differences.count) differences") }
        }
        if verify && !differences.isEmpty { throw ExitCode(ExitStatus.differs.rawValue) }
        if !report.isComplete { throw ExitCode(ExitStatus.partial.rawValue) }
    }

    /// --dry-run: what would be written, and what would be left alone.
    private func listPlan(reader: ObjectReader, root: ObjectAddress, subPath: RawPath?, target: RawPath) async throws {
        var count = 0
        var bytes: UInt64 = 0
        try await SnapshotWalker(reader: reader).walk(root: root, subPath: subPath) { relative, entry in
            let destination = target.appending(relative)
            let exists = FileIO.exists(destination)
            let action = !exists ? "create" : entry.type == .directory ? "merge" : overwrite ? "replace" : "keep existing"
            count += 1
            if entry.type == .regular { bytes += entry.size }
            if output.json {
                try JSONOutput.printLine(PlannedEntry(path: destination.description, type: "\(entry.type)", size: entry.size, action: action))
            } else {
                print("\(action.padding(toLength: 13, withPad: " ", startingAt: 0)) \(entry.type)  \(destination)")
            }
        }
        if !output.json { print("\(count) entries, \(Units.bytes(Int64(bytes))) of file data (nothing written)") }
    }
}

/// A progress report: on the terminal as text, with --json as a JSON line.
struct ProgressLine: Encodable {
    var type = "progress"
    var files: Int
    var totalFiles: Int
    var bytes: Int64
    var totalBytes: Int64
    var seconds: Double

    var rate: Double { seconds > 0 ? Double(bytes) / seconds : 0 }
    var etaSeconds: Double? { totalBytes > 0 && rate > 0 ? max(0, Double(totalBytes - bytes) / rate) : nil }

    var text: String {
        var line = "files \(files)\(totalFiles > 0 ? "/\(totalFiles)" : "")  \(Units.bytes(bytes))\(totalBytes > 0 ? " of \(Units.bytes(totalBytes))" : "")  \(Units.bytes(Int64(rate)))/s"
        if let eta = etaSeconds { line += String(format: "  ETA %.0f s", eta) }
        return line
    }

    enum CodingKeys: String, CodingKey { case type, files, totalFiles, bytes, totalBytes, seconds, rate, etaSeconds }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(files, forKey: .files)
        try container.encode(totalFiles, forKey: .totalFiles)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(totalBytes, forKey: .totalBytes)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(rate, forKey: .rate)
        try container.encodeIfPresent(etaSeconds, forKey: .etaSeconds)
    }
}

/// One line of `restore --dry-run --json`.
struct PlannedEntry: Encodable {
    var path: String
    var type: String
    var size: UInt64
    var action: String
}

/// `skiff restore --json` output (the last line).
struct RestoreSummary: Encodable {
    var type = "result"
    var snapshot: String
    var heldBy: [String]
    var seconds: Double
    var report: RestoreReport
    var verified: Bool?
    var differences: [String]?
}

extension SourceOrder: ExpressibleByArgument {}
