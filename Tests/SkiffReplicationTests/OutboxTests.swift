import Foundation
import SkiffCore
import SkiffReplication
import SkiffTestSupport
import Testing

/// The host's backlog on its own: what is queued, in which order, what each site's cursor says,
/// and what is kept after delivery. Milliseconds each (a temporary folder, no site).
@Suite struct OutboxTests {
    let folder: TemporaryDirectory
    let maker: SnapshotMaker

    init() throws {
        folder = try TemporaryDirectory("skiff-outbox")
        maker = try SnapshotMaker()
    }

    func outbox(sites: [String] = ["a", "b"]) throws -> Outbox {
        try Outbox(folder: folder.appending("outbox"), sites: sites)
    }

    /// Queues the snapshot's objects, then its seal (the seal commits them). Returns the seal's entry.
    @discardableResult
    static func queue(_ snapshot: SnapshotMaker.Snapshot, _ seal: Seal, in outbox: Outbox) async throws -> OutboxEntry {
        for object in snapshot.objects { _ = try await outbox.append(object) }
        return try await outbox.append(seal)
    }

    @Test func objectsAreQueuedOnceBeforeTheirSealInOrderAndSurviveAReopen() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        let outbox = try outbox()
        for object in snapshot.objects { #expect(try await outbox.append(object)) }
        #expect(try await outbox.append(snapshot.objects[1]) == false, "an object is queued once")
        #expect(try outbox.entries(after: 0, limit: 100).count == snapshot.objects.count, "pending objects are delivered before their commit")
        let sealEntry = try await outbox.append(seal)
        let expected = snapshot.objects.map { OutboxEntry.Payload.object($0.address, size: $0.bytes.count) } + [.seal(seal)]
        #expect(try outbox.entries(after: 0, limit: 100).map(\.payload) == expected)
        #expect(try outbox.entries(after: 0, limit: 100).map(\.sequence) == Array(1...Int64(expected.count)))
        #expect(sealEntry.sequence == Int64(expected.count))
        #expect(try outbox.newestSequence() == sealEntry.sequence)
        #expect(try await outbox.objectBytes(snapshot.chunks[0]) == snapshot.objects[1].bytes)
        #expect(try outbox.lastSeal() == seal)

        let reopened = try self.outbox()
        #expect(try reopened.entries(after: 0, limit: 100).map(\.payload) == expected, "a restart keeps every committed entry")
        #expect(try await reopened.append(snapshot.objects[2]) == false, "and knows what is queued")
        #expect(try await reopened.objectBytes(snapshot.chunks[1]) == snapshot.objects[2].bytes, "bytes come from the spool")
    }

    @Test func acknowledgementsMoveOnlyTheirSitesCursorAndBacklog() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        let outbox = try outbox()
        let sealEntry = try await Self.queue(snapshot, seal, in: outbox)
        let objectsThrough = sealEntry.sequence - 1
        try await outbox.recordError(site: "a", "site a unreachable")
        #expect(try outbox.cursor("a").lastError == "site a unreachable")
        try await outbox.acknowledge(site: "a", through: objectsThrough)
        #expect(try outbox.cursor("a").deliveredThrough == objectsThrough)
        #expect(try outbox.cursor("a").lastError == nil, "a delivery clears the last error")
        #expect(try outbox.backlog(of: "a").entries == 1)
        #expect(try outbox.backlog(of: "a").bytes == seal.encoded.count)
        #expect(try outbox.backlog(of: "b").entries == snapshot.objects.count + 1)
        try await outbox.acknowledge(site: "a", through: sealEntry.sequence, seal: seal)
        let cursor = try outbox.cursor("a")
        #expect(cursor.lastSealSequence == 1 && cursor.lastSealHash == seal.hash.hex)
        #expect(try outbox.backlog(of: "a").entries == 0)
        #expect(try await outbox.waitForAcknowledgements(of: sealEntry.sequence, count: 2, timeout: .zero) == ["a"])
        try await outbox.acknowledge(site: "a", through: 1)
        #expect(try outbox.cursor("a").deliveredThrough == sealEntry.sequence, "a cursor never moves back")
    }

    @Test func deliveredEntriesAreKeptForADayAndSealsForGood() async throws {
        let chain = try maker.chain(2)
        let outbox = try outbox()
        let first = try await Self.queue(chain[0].snapshot, chain[0].seal, in: outbox)
        let second = try await Self.queue(chain[1].snapshot, chain[1].seal, in: outbox)
        try await outbox.acknowledge(site: "a", through: second.sequence, seal: chain[1].seal)
        try await outbox.acknowledge(site: "b", through: first.sequence, seal: chain[0].seal)
        let now = Date().timeIntervalSince1970
        let everything = try outbox.entries(after: 0, limit: 100)

        try await outbox.collectGarbage(now: now)
        #expect(try outbox.entries(after: 0, limit: 100) == everything, "delivered entries stay for `keepDelivered`")
        #expect(try await outbox.hasObject(chain[0].snapshot.chunks[0]))

        try await outbox.collectGarbage(now: now + Outbox.keepDelivered + 1)
        #expect(try outbox.entries(after: 0, limit: 100) == everything.filter { $0.sequence > first.sequence },
                "only what every site holds goes")
        #expect(try await outbox.hasObject(chain[0].snapshot.chunks[0]) == false, "with its spool file")
        #expect(try await outbox.hasObject(chain[1].snapshot.chunks[0]), "site b still needs the second snapshot")

        try await outbox.acknowledge(site: "b", through: second.sequence, seal: chain[1].seal)
        try await outbox.collectGarbage(now: now + Outbox.keepDelivered + 1)
        #expect(try outbox.entries(after: 0, limit: 100).isEmpty)
        #expect(try outbox.seals(1...2) == chain.map(\.seal), "every seal the host made is kept")
        #expect(try outbox.lastSeal() == chain[1].seal)
    }
}
