import Logging
import SkiffCore
@testable import SkiffReplication
import SkiffSite
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffSiteTestSupport
import SkiffStorage
import SkiffTestSupport
import Testing

/// A sender delivering a host's outbox to an in-process site (`InProcessSiteConnection`): round
/// by round (`deliverNext`), so every step is checked without waiting for a backoff; and once
/// through `run`, which is driven by the outbox's signals, not by time. Milliseconds each;
/// `ReplicationTests` proves delivery with real site processes.
@Suite struct SiteSenderTests {
    let folder: TemporaryDirectory
    let site: InProcessSite
    let maker: SnapshotMaker
    let tenant: TenantRecord
    let connection: InProcessSiteConnection
    let outbox: Outbox
    let sender: SiteSender

    init() throws {
        folder = try TemporaryDirectory("skiff-sender")
        site = try InProcessSite()
        maker = try SnapshotMaker()
        tenant = try site.enroll(maker)
        connection = try site.connection(for: maker, tenant: tenant)
        outbox = try Outbox(folder: folder.appending("outbox"), sites: [connection.name])
        sender = SiteSender(site: connection, outbox: outbox, logger: Logger(label: "skiff-test") { _ in SwiftLogNoOpLogHandler() })
    }

    var store: MemoryStore { site.store(tenant) }

    func head() throws -> String? { try site.head(of: maker.host, tenant: tenant) }

    func queue(_ chain: [(snapshot: SnapshotMaker.Snapshot, seal: Seal)]) async throws -> [OutboxEntry] {
        var seals: [OutboxEntry] = []
        for (snapshot, seal) in chain { seals.append(try await OutboxTests.queue(snapshot, seal, in: outbox)) }
        return seals
    }

    @Test func aSnapshotsObjectsGoFirstAndItsSealOnlyAfterThem() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        let sealEntry = try await queue([(snapshot, seal)])[0]
        #expect(try await sender.deliverNext(after: 0) == sealEntry.sequence - 1)
        #expect(connection.calls.map(\.verb) == [.missing, .putObjects])
        for object in snapshot.objects { #expect(try await store.get(.object(object.address)) == object.bytes) }
        #expect(try head() == nil, "no seal before its objects are acknowledged")
        #expect(try outbox.cursor(connection.name).deliveredThrough == sealEntry.sequence - 1)

        #expect(try await sender.deliverNext(after: sealEntry.sequence - 1) == sealEntry.sequence)
        #expect(connection.calls.last?.verb == .putSeal)
        #expect(try head() == InProcessSite.label(seal))
        #expect(try outbox.cursor(connection.name).lastSealSequence == 1)
        #expect(try await sender.deliverNext(after: sealEntry.sequence) == nil, "nothing left")
    }

    @Test func onlyTheObjectsTheSiteLacksAreUploaded() async throws {
        let (snapshot, seal) = try maker.chain(1, chunks: 5)[0]
        let held = Array(snapshot.objects.prefix(3))
        let writer = try site.principal(.writer, tenant: tenant, host: maker.host)
        _ = try await site.service.putObjects(tenant: tenant, objects: held.map { ($0.address, $0.bytes) }, principal: writer)
        _ = try await queue([(snapshot, seal)])
        _ = try await sender.deliverNext(after: 0)
        let uploaded = connection.calls(.putObjects).flatMap(\.addresses)
        #expect(Set(uploaded) == Set(snapshot.objects.dropFirst(3).map(\.address)))
        #expect(uploaded.count == snapshot.objects.count - 3, "each lacking object once")
    }

    @Test func runDeliversEverythingQueuedAndWhatIsQueuedLater() async throws {
        let chain = try maker.chain(3)
        _ = try await queue(Array(chain.prefix(2)))
        let delivery = Task { await sender.run() }
        defer { delivery.cancel() }
        let acknowledged = try await outbox.waitForAcknowledgements(of: try outbox.newestSequence(), count: 1, timeout: .seconds(120))
        #expect(acknowledged == [connection.name])
        #expect(try head() == InProcessSite.label(chain[1].seal))
        _ = try await queue([chain[2]])
        _ = try await outbox.waitForAcknowledgements(of: try outbox.newestSequence(), count: 1, timeout: .seconds(120))
        #expect(try head() == InProcessSite.label(chain[2].seal))
        let reachable = sender.reachable.load(ordering: .relaxed)
        #expect(reachable)
        delivery.cancel()
        await delivery.value
    }

    @Test func aSiteThatLostAcknowledgedSealsGetsThemAgainWithTheirObjects() async throws {
        let chain = try maker.chain(3)
        let seals = try await queue(chain)
        var through: Int64 = 0
        while through < seals[0].sequence { through = try #require(try await sender.deliverNext(after: through)) }
        // The site acknowledged #2, then was restored from a copy that holds only #1.
        try await outbox.acknowledge(site: connection.name, through: seals[1].sequence, seal: chain[1].seal)
        through = seals[1].sequence
        while through < seals[2].sequence { through = try #require(try await sender.deliverNext(after: through)) }
        #expect(try head() == InProcessSite.label(chain[2].seal))
        #expect(try await store.get(.seal(chain[1].seal.name)) == chain[1].seal.encoded)
        #expect(connection.calls(.newestSeal).count == 1, "the conflict made the sender ask for the site's newest seal")
        let resent = Set(connection.calls(.putObject).flatMap(\.addresses))
        #expect(resent == Set(chain[1].snapshot.objects.map(\.address)).subtracting([chain[1].snapshot.keyObject]),
                "#2's objects come again from the spool")
    }

    @Test func aForkAtTheSiteIsNotRepairedAndStaysInTheBacklog() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        let other = try maker.snapshot()
        let writer = try site.principal(.writer, tenant: tenant, host: maker.host)
        try await site.upload(other, tenant: tenant, as: writer)
        _ = try await site.service.putSeal(tenant: tenant, bytes: try maker.seal(other, after: nil).encoded, principal: writer)
        let sealEntry = try await queue([(snapshot, seal)])[0]
        _ = try await sender.deliverNext(after: 0)
        let refusal = await #expect(throws: SiteClientError.self) { _ = try await sender.deliverNext(after: sealEntry.sequence - 1) }
        #expect(refusal?.code == .chainConflict)
        #expect(try outbox.cursor(connection.name).deliveredThrough == sealEntry.sequence - 1)
        #expect(try outbox.backlog(of: connection.name).entries == 1)
        #expect(connection.calls(.putSeal).count == 1, "no seal of this host's chain is sent over the fork")
    }

    @Test func aTransientFailureLeavesTheRoundInTheBacklogAndIsRetriedSoon() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        let sealEntry = try await queue([(snapshot, seal)])[0]
        connection.fail(.putObjects, with: connection.unreachable)
        let error = try #require(await #expect(throws: SiteClientError.self) { _ = try await sender.deliverNext(after: 0) })
        #expect(error.isTransient)
        #expect(try outbox.cursor(connection.name).deliveredThrough == 0)
        #expect(try outbox.backlog(of: connection.name).entries == snapshot.objects.count + 1)
        #expect(try await store.size(.object(snapshot.chunks[0])) == nil)

        var backoff = Backoff()
        let first = await sender.recordFailure(error, backoff: &backoff)
        #expect(first >= .milliseconds(400) && first <= .milliseconds(600))
        let reachable = sender.reachable.load(ordering: .relaxed)
        #expect(!reachable)
        #expect(try outbox.cursor(connection.name).lastError?.contains("unreachable") == true)
        let second = await sender.recordFailure(error, backoff: &backoff)
        #expect(second >= .milliseconds(800) && second <= .milliseconds(1200), "the wait doubles")

        #expect(try await sender.deliverNext(after: 0) == sealEntry.sequence - 1, "the same round again")
        #expect(try await sender.deliverNext(after: sealEntry.sequence - 1) == sealEntry.sequence)
        #expect(try head() == InProcessSite.label(seal))
        #expect(try outbox.cursor(connection.name).lastError == nil)
    }

    @Test func aFinalRefusalWaitsLongAndDoesNotMarkTheSiteUnreachable() async throws {
        let refusal = SiteClientError.rejected(site: connection.name, status: 403, code: .forbidden, message: "revoked", addresses: [])
        var backoff = Backoff()
        let delay = await sender.recordFailure(refusal, backoff: &backoff)
        #expect(delay >= .seconds(24))
        let reachable = sender.reachable.load(ordering: .relaxed)
        #expect(reachable)
    }
}
