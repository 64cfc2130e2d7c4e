import Foundation
import Glibc
import SkiffCore
import SkiffReplication
import SkiffSystem
import SkiffTestSupport
import Testing

/// One pass to three real sites over HTTPS on loopback: outages, catch-up, a killed host.
@Suite(.serialized) struct ReplicationTests {
    static func tree(_ farm: SiteFarm, seed: UInt64 = 7) throws {
        var options = TreeGenerator.Options()
        options.seed = seed
        options.directories = 8
        options.filesPerDirectory = 10
        options.largeFileSizes = [6 << 20]
        try TreeGenerator.generate(at: farm.source, options: options)
    }

    static func statuses(_ farm: SiteFarm) async throws -> [SiteStatus] {
        let result = try await farm.skiff(["status", "--config", farm.hostConfiguration, "--json"])
        guard result.status == 0 else { throw TestFailure("status: \(result)") }
        return try JSONDecoder().decode(ReplicationStatus.self, from: Data(result.standardOutput.utf8)).sites
    }

    /// The host's state (outbox, cache) on a full medium: `ulimit -f` makes writes past 1 MiB fail,
    /// as ENOSPC would. The backup must exit 7 with the reason, not crash with connections open,
    /// and the next backup with room must deliver everything.
    @Test func aFullHostDiskFailsCleanlyAndTheNextBackupDelivers() async throws {
        let farm = try await SiteFarm(sites: 2)
        defer { farm.remove() }
        try Self.tree(farm)
        #expect(try await farm.backup().status == 0)
        var random = SeededRandom(seed: 11)
        try TreeGenerator.write(random.bytes(3 << 20), to: farm.source.appending("too-big.bin"))
        let full = try await CommandRunner.run(
            "/bin/bash", ["-c", "ulimit -f 1024; exec \"$0\" \"$@\"", CommandRunner.executable("skiff"), "backup", farm.source.description,
                          "--config", farm.hostConfiguration], environment: farm.environment)
        #expect(full.status == 7, "\(full)")
        #expect(full.standardError.contains("no space") && !full.standardError.contains("Fatal error"), "\(full)")
        let again = try await farm.backup()
        #expect(again.status == 0, "\(again)")
        for index in 0..<2 {
            #expect(try await TreeComparison.differences(farm.source, try farm.restore(from: index)).isEmpty)
        }
    }

    @Test func oneBackupReachesEverySite() async throws {
        let farm = try await SiteFarm(sites: 3)
        defer { farm.remove() }
        try Self.tree(farm)
        let backup = try await farm.backup()
        #expect(backup.status == 0, "\(backup)")
        for status in try await Self.statuses(farm) {
            #expect(status.reachable)
            #expect(status.backlogEntries == 0, "\(status)")
            #expect(status.lastSeal?.hasPrefix("#1 ") == true, "\(status)")
        }
        for index in 0..<3 {
            #expect(try await TreeComparison.differences(farm.source, try farm.restore(from: index)).isEmpty)
            #expect(try await farm.verify(at: index).status == 0)
        }
    }

    @Test func aSiteThatWasDownCatchesUpWithNothingLost() async throws {
        let farm = try await SiteFarm(sites: 3, quorum: 2)
        defer { farm.remove() }
        try Self.tree(farm)
        #expect(try await farm.backup().status == 0)

        // Take site C down in the middle of an upload, keep changing and backing up.
        var random = SeededRandom(seed: 99)
        try TreeGenerator.write(random.bytes(40 << 20), to: farm.source.appending("big-change.bin"))
        let backup = try farm.startBackup()
        usleep(700_000)  // blocks on purpose: timing a kill, a starved Task.sleep would wake late
        farm.sites[2].stop()
        backup.waitUntilExit()
        #expect(backup.terminationStatus == 0, "a quorum of 2 of 3 must still be reached")
        for round in 0..<3 {
            try TreeGenerator.write(Array("round \(round)\n".utf8), to: farm.source.appending("round.txt"))
            let result = try await farm.backup()
            #expect(result.status == 0, "\(result)")
        }
        let down = try await #require(try Self.statuses(farm).first { $0.site == "site-c" })
        #expect(!down.reachable)
        #expect(down.backlogEntries > 0, "the down site must have a backlog: \(down)")

        // Bring it back: the backlog drains in order and every chain is intact.
        try farm.sites[2].start()
        let sync = try await farm.skiff(["sync", "--config", farm.hostConfiguration, "--timeout", "60"])
        #expect(sync.status == 0, "\(sync)")
        for status in try await Self.statuses(farm) {
            #expect(status.backlogEntries == 0, "\(status)")
            #expect(status.lastSeal?.hasPrefix("#5 ") == true, "\(status)")
        }
        for index in 0..<3 {
            let verify = try await farm.verify(at: index)
            #expect(verify.status == 0, "site \(index): \(verify)")
            #expect(try await TreeComparison.differences(farm.source, try farm.restore(from: index)).isEmpty, "site \(index)")
        }
        let list = try await farm.skiff(["snapshots", "--config", farm.adminConfiguration, "--site", "site-c", "--key",
                                   farm.folder.appending("tenant.pub").description, "--json"])
        let seals = try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as! [[String: Any]]
        #expect(seals.compactMap { $0["sequence"] as? Int } == [1, 2, 3, 4, 5])
    }

    @Test func aHostKilledMidUploadResumesWithoutBreakingChains() async throws {
        let farm = try await SiteFarm(sites: 2)
        defer { farm.remove() }
        try Self.tree(farm)
        #expect(try await farm.backup().status == 0)
        var random = SeededRandom(seed: 5)
        for i in 0..<4 { try TreeGenerator.write(random.bytes(24 << 20), to: farm.source.appending("new\(i).bin")) }
        for _ in 0..<2 {
            let backup = try farm.startBackup()
            usleep(600_000)  // blocks on purpose: timing a kill, a starved Task.sleep would wake late
            kill(backup.processIdentifier, SIGKILL)
            backup.waitUntilExit()
        }
        let resumed = try await farm.backup()
        #expect(resumed.status == 0, "\(resumed)")
        for index in 0..<2 {
            #expect(try await farm.verify(at: index).status == 0)
            #expect(try await TreeComparison.differences(farm.source, try farm.restore(from: index)).isEmpty)
        }
    }
}
