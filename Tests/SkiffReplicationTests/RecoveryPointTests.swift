import Foundation
import SkiffCore
import SkiffReplication
import SkiffTestSupport
import Synchronization
import Testing

/// The recovery point as the outbox measures it: from the first change a seal answers to each
/// site's acknowledgement of it, and to the quorum's. Milliseconds each.
@Suite struct RecoveryPointTests {
    let folder: TemporaryDirectory
    let maker: SnapshotMaker

    init() throws {
        folder = try TemporaryDirectory("skiff-rpo")
        maker = try SnapshotMaker()
    }

    @Test func eachSiteAndTheQuorumGetOneSamplePerSealThatAnswersChanges() async throws {
        let outbox = try Outbox(folder: folder.appending("outbox"), sites: ["a", "b", "c"])
        let samples = Mutex<[DurabilitySample]>([])
        outbox.observeDurability { sample in samples.withLock { $0.append(sample) } }
        let chain = try maker.chain(3)
        let changed = Date().timeIntervalSince1970 - 5
        for object in chain[0].snapshot.objects { _ = try await outbox.append(object) }
        let answered = try await outbox.append(chain[0].seal, changesSince: changed)
        for object in chain[1].snapshot.objects { _ = try await outbox.append(object) }
        let unanswered = try await outbox.append(chain[1].seal)  // a safety rescan: no change to answer
        #expect(try outbox.oldestChangeNotDurable(at: "a") == changed)
        #expect(try outbox.oldestChangeNotDurable(quorum: 2) == changed)

        try await outbox.acknowledge(site: "b", through: answered.sequence, seal: chain[0].seal)
        #expect(try outbox.oldestChangeNotDurable(at: "b") == nil, "b holds the change")
        #expect(try outbox.oldestChangeNotDurable(quorum: 2) == changed, "one site is not a quorum of two")
        #expect(try outbox.oldestChangeNotDurable(quorum: 1) == nil)
        try await outbox.acknowledge(site: "a", through: answered.sequence, seal: chain[0].seal)
        #expect(try outbox.oldestChangeNotDurable(quorum: 2) == nil)
        #expect(try outbox.oldestChangeNotDurable(quorum: 3) == changed)
        try await outbox.acknowledge(site: "a", through: answered.sequence, seal: chain[0].seal)  // delivered again
        try await outbox.acknowledge(site: "a", through: unanswered.sequence, seal: chain[1].seal)

        let seen = samples.withLock { $0 }
        #expect(seen.map(\.site) == ["b", "a"], "one sample per site and seal, none for a seal that answers no change: \(seen)")
        #expect(seen.map(\.sitesDurable) == [1, 2])
        #expect(seen.allSatisfy { $0.sealSequence == chain[0].seal.sequence && $0.changedAt == changed && $0.seconds >= 5 && $0.seconds < 60 })

        let (perSite, quorum) = try outbox.recoveryPoints(since: changed, quorum: 2)
        #expect(perSite["a"]?.count == 1 && perSite["b"]?.count == 1 && perSite["c"]?.count == 0)
        #expect(quorum.count == 1 && quorum.p99Seconds == seen[1].seconds, "the quorum's moment is the second site's")
        #expect(try outbox.recoveryPoints(since: changed, quorum: 3).quorum.count == 0)
        #expect(try outbox.recoveryPoints(since: Date().timeIntervalSince1970 + 1, quorum: 2).quorum.count == 0)

        let reopened = try Outbox(folder: folder.appending("outbox"), sites: ["a", "b", "c"])
        #expect(try reopened.oldestChangeNotDurable(at: "c") == changed, "the change time survives a restart")
        #expect(try reopened.recoveryPoints(since: changed, quorum: 2).quorum.count == 1)
    }

    @Test func samplesAreForgottenWithDeliveredEntries() async throws {
        let outbox = try Outbox(folder: folder.appending("outbox"), sites: ["a"])
        let (snapshot, seal) = try maker.chain(1)[0]
        for object in snapshot.objects { _ = try await outbox.append(object) }
        let entry = try await outbox.append(seal, changesSince: Date().timeIntervalSince1970)
        try await outbox.acknowledge(site: "a", through: entry.sequence, seal: seal)
        #expect(try outbox.recoveryPoints(since: 0, quorum: 1).quorum.count == 1)
        try await outbox.collectGarbage(now: Date().timeIntervalSince1970 + Outbox.keepDelivered + 1)
        #expect(try outbox.recoveryPoints(since: 0, quorum: 1).quorum.count == 0)
    }

    @Test func percentilesAreNearestRank() {
        let summary = RecoveryPointSummary(seconds: (1...100).map(Double.init).reversed())
        #expect(summary.count == 100 && summary.p50Seconds == 50 && summary.p99Seconds == 99 && summary.maxSeconds == 100)
        let one = RecoveryPointSummary(seconds: [0.3])
        #expect(one.p50Seconds == 0.3 && one.p99Seconds == 0.3)
        #expect(RecoveryPointSummary(seconds: []).p99Seconds == nil)
    }
}
