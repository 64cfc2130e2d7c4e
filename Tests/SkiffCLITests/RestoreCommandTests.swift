import Foundation
import Glibc
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Testing

/// Issue 8 through the `skiff` executable: point in time, resuming after kill -9, dry run,
/// and existing files.
@Suite struct RestoreCommandTests {
    typealias Workspace = CLITests.Workspace

    /// A seal time as printed by `skiff snapshots --json`: "2026-11-22T07:26:45.123456789Z".
    struct SealTime: Comparable {
        var seconds: Int64
        var nanoseconds: Int64

        init(_ text: String) throws {
            let parts = text.dropLast().split(separator: ".")
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            let date = try #require(formatter.date(from: String(parts[0]) + "Z"), "bad time \(text)")
            seconds = Int64(date.timeIntervalSince1970)
            nanoseconds = parts.count > 1 ? try #require(Int64(parts[1].padding(toLength: 9, withPad: "0", startingAt: 0))) : 0
        }

        init(total: Int64) {
            seconds = total / 1_000_000_000
            nanoseconds = total % 1_000_000_000
        }

        var total: Int64 { seconds * 1_000_000_000 + nanoseconds }

        var iso: String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            return text.dropLast() + "." + String(format: "%09lld", nanoseconds) + "Z"
        }

        static func < (a: SealTime, b: SealTime) -> Bool { a.total < b.total }
    }

    static func snapshots(_ w: Workspace, _ extra: [String] = []) async throws -> [[String: Any]] {
        let list = try await w.skiff(["snapshots", "--repo", w.repo, "--key", w.hostKey, "--json"] + extra)
        #expect(list.status == 0, "\(list)")
        return try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
    }

    /// Ten snapshots with known content; restoring at each seal's time, and between two
    /// seals, yields exactly that moment's tree.
    @Test func everyMomentRestoresExactlyItsTree() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        let moments = w.folder.appending("moments")
        try FileIO.makeDirectories(moments)
        var random = SeededRandom(seed: 8)
        for version in 1...10 {
            try TreeGenerator.write(Array("version \(version)\n".utf8), to: w.source.appending("moment.txt"))
            try TreeGenerator.write(random.bytes(3000 + version * 500), to: w.source.appending("added-\(version).bin"))
            if version % 3 == 0 { try FileIO.remove(w.source.appending("added-\(version - 1).bin")) }
            if version == 6 { try FileIO.makeDirectories(w.source.appending("new-folder/inner")) }
            if version == 8 { try FileIO.removeTree(w.source.appending("new-folder")) }
            let backup = try await w.backup()
            #expect(backup.status == 0, "\(backup)")
            let copy = try await CommandRunner.run("/bin/cp", ["-a", w.source.description, moments.appending("\(version)").description])
            #expect(copy.status == 0, "\(copy)")
        }
        let listed = try await Self.snapshots(w)
        #expect(listed.count == 10)
        let times = try listed.sorted { ($0["sequence"] as! Int) < ($1["sequence"] as! Int) }.map { try SealTime($0["time"] as! String) }
        #expect(times == times.sorted())

        for version in 1...10 {
            var asked = [(times[version - 1].iso, "at the seal")]
            if version < 10 {
                let between = SealTime(total: (times[version - 1].total + times[version].total) / 2)
                asked.append((between.iso, "between seals"))
                asked.append((SealTime(total: times[version].total - 1).iso, "a nanosecond before the next seal"))
            }
            for (moment, what) in asked {
                let target = w.folder.appending("restore").description
                let result = try await w.skiff(["restore", "--at", moment, "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target])
                #expect(result.status == 0, "\(what): \(result)")
                #expect(result.standardError.contains("web1 (#\(version))"), "\(what) \(moment) chose: \(result.standardError)")
                let differences = try TreeComparison.differences(moments.appending("\(version)"), w.restored(target))
                #expect(differences.isEmpty, "version \(version), \(what): \(differences)")
                try FileIO.removeTree(RawPath(target))
            }
        }
        // Before the first seal there is nothing to restore.
        let early = try await w.skiff(["restore", "--at", SealTime(total: times[0].total - 1).iso, "--repo", w.repo,
                                 "--restore-key", w.restoreKey, "--to", w.folder.appending("early").description])
        #expect(early.status == 2, "\(early)")
        #expect(!FileIO.exists(w.folder.appending("early")))
        // Relative and local forms.
        let now = try await w.skiff(["restore", "--at", "now", "--dry-run", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", w.folder.appending("n").description])
        #expect(now.standardError.contains("web1 (#10)"), "\(now)")
        let weekAgo = try await w.skiff(["restore", "--at", "-1w", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", w.folder.appending("w").description])
        #expect(weekAgo.status == 2, "\(weekAgo)")
        // --between lists exactly the seals in the window, ends included.
        let window = try await Self.snapshots(w, ["--host", "web1", "--between", times[2].iso, times[4].iso])
        #expect(window.map { $0["sequence"] as! Int }.sorted() == [3, 4, 5])
    }

    /// A restore killed with SIGKILL continues where it stopped: finished files are not
    /// fetched again, its own half-written file is replaced, a file that was there before is
    /// left alone, and the result is exact.
    @Test func aKilledRestoreResumesWithoutRefetching() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        var random = SeededRandom(seed: 9)
        let big = w.source.appending("big")
        try FileIO.makeDirectories(big)
        for i in 0..<32 { try TreeGenerator.write(random.bytes(4 << 20), to: big.appending(String(format: "file-%02d.bin", i))) }
        #expect(try await w.backup().status == 0)

        let target = w.folder.appending("out")
        let restoredSource = w.restored(target.description)
        // A file in the way, there before the restore: it must stay as it is.
        try FileIO.makeDirectories(restoredSource.appending("big"))
        try TreeGenerator.write(Array("mine".utf8), to: restoredSource.appending("big/file-31.bin"))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.executable("skiff"))
        process.arguments = ["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description]
        process.environment = ProcessInfo.processInfo.environment.merging(w.environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once a few large files are recorded as done.
        let journals = w.folder.appending("cache/restore")
        var done = 0
        let deadline = Date().addingTimeInterval(120)
        while done < 4 && process.isRunning && Date() < deadline {
            usleep(20_000)  // blocks on purpose: timing a kill, a starved Task.sleep would wake late
            done = 0
            for name in (try? FileIO.directoryEntries(journals)) ?? [] {
                let text = (try? FileIO.readFile(journals.appending(name))) ?? []
                done += text.split(separator: 0x0a).filter { $0.first == UInt8(ascii: "D") }.count
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the restore finished before it could be killed; make the data set bigger")

        let resumed = try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description, "--json"])
        #expect(resumed.status == 3, "the pre-existing file is reported: \(resumed)")
        #expect(resumed.standardError.contains("continuing an interrupted restore"), "\(resumed)")
        #expect(resumed.standardError.contains("skipped (exists): \(w.source.description)/big/file-31.bin"), "\(resumed)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(resumed.standardOutput.split(separator: "\n").last!.utf8)) as? [String: Any])
        let report = try #require(summary["report"] as? [String: Any])
        let resumedFiles = report["resumedFiles"] as! Int
        let written = report["bytesWritten"] as! Int
        #expect(resumedFiles >= 4, "\(report)")
        let totalBig = 32 * (4 << 20)
        #expect(written <= totalBig - resumedFiles * (4 << 20) + (4 << 20), "finished files were written again: \(written) bytes")

        #expect(try FileIO.readFile(restoredSource.appending("big/file-31.bin")) == Array("mine".utf8))
        try FileIO.remove(restoredSource.appending("big/file-31.bin"))
        try FileIO.remove(w.source.appending("big/file-31.bin"))
        var options = TreeComparison.Options()
        options.compareModificationTimes = false
        #expect(try TreeComparison.differences(w.source, restoredSource, options: options).isEmpty)
        #expect(try FileIO.directoryEntries(journals).isEmpty, "the journal is removed once the restore completes")
    }

    /// --dry-run lists what would be written and writes nothing; existing files are left
    /// alone unless --overwrite.
    @Test func dryRunWritesNothingAndOverwriteIsExplicit() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        try TreeGenerator.write(Array("backed up".utf8), to: w.source.appending("note.txt"))
        #expect(try await w.backup().status == 0)
        let target = w.folder.appending("out")

        let dry = try await w.skiff(["restore", "--dry-run", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.standardOutput.contains(w.source.description + "/note.txt"), "\(dry)")
        #expect(!FileIO.exists(target), "a dry run created the target")

        let note = w.restored(target.description).appending("note.txt")
        try FileIO.makeDirectories(w.restored(target.description))
        try TreeGenerator.write(Array("local edit".utf8), to: note)
        let dryOver = try await w.skiff(["restore", "--dry-run", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description])
        #expect(dryOver.standardOutput.split(separator: "\n").contains { $0.hasPrefix("keep existing") && $0.hasSuffix("/note.txt") }, "\(dryOver)")
        #expect(try FileIO.readFile(note) == Array("local edit".utf8))

        let kept = try await w.skiff(["restore", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description])
        #expect(kept.status == 3, "\(kept)")
        #expect(kept.standardError.contains("skipped (exists)"), "\(kept)")
        #expect(try FileIO.readFile(note) == Array("local edit".utf8))

        let replaced = try await w.skiff(["restore", "--overwrite", "--verify", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target.description])
        #expect(replaced.status == 0, "\(replaced)")
        #expect(try FileIO.readFile(note) == Array("backed up".utf8))
    }
}
