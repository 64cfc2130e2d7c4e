import Foundation
import SkiffAudit
import SkiffCore
@testable import SkiffSite
import SkiffSiteProtocol
import SkiffTestSupport
import Testing

/// The site's defences as pure parts, without a server: fast, and each exact.
struct SiteDefenceTests {
    @Test func authenticationIsThrottledAfterABurstAndRecovers() {
        let limiter = AuthenticationLimiter(burst: 3, refill: .seconds(2))
        let start = ContinuousClock.now
        let good: [UInt8] = [1, 2, 3]
        limiter.succeeded(client: "10.0.0.1", tokenHash: good, now: start)
        #expect(!limiter.failed(client: "10.0.0.1", now: start))
        #expect(!limiter.failed(client: "10.0.0.1", now: start))
        #expect(limiter.failed(client: "10.0.0.1", now: start), "the third failure uses the last try")
        #expect(!limiter.failed(client: "10.0.0.1", now: start), "only the first moment of throttling is reported")
        #expect(limiter.admit(client: "10.0.0.1", tokenHash: nil, now: start) == .throttled(retryAfter: 2))
        #expect(limiter.admit(client: "10.0.0.1", tokenHash: [9], now: start) == .throttled(retryAfter: 2))
        #expect(limiter.admit(client: "10.0.0.1", tokenHash: good, now: start) == .proceed, "a token that worked from here passes")
        #expect(limiter.admit(client: "10.0.0.2", tokenHash: nil, now: start) == .proceed, "other addresses are not held")
        #expect(limiter.admit(client: "10.0.0.1", tokenHash: nil, now: start + .seconds(2)) == .proceed, "a try comes back after the refill")
        #expect(limiter.throttledCount(now: start + .seconds(2)) == 0)
    }

    @Test func ipv6ClientsAreCountedByTheirSlash64() {
        #expect(AuthenticationLimiter.key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64")
        #expect(AuthenticationLimiter.key("2001:db8:1:2::7") == "2001:db8:1:2::/64")
        #expect(AuthenticationLimiter.key("2001:db8::1") == "2001:db8:0:0::/64")
        #expect(AuthenticationLimiter.key("192.0.2.7") == "192.0.2.7")
        let limiter = AuthenticationLimiter(burst: 1, refill: .seconds(60))
        let now = ContinuousClock.now
        _ = limiter.failed(client: "2001:db8:1:2::1", now: now)
        #expect(limiter.admit(client: "2001:db8:1:2::ffff", tokenHash: nil, now: now) != .proceed, "a neighbour in the /64 is the same client")
        #expect(limiter.admit(client: "2001:db8:1:3::1", tokenHash: nil, now: now) == .proceed)
    }

    @Test func quotasHoldUploadsAndSealsFreeTheUnsealedRoom() throws {
        let tenant = TenantID(bytes16: 7)
        let ledger = QuotaLedger(readQuota: { _ in TenantQuota(storedBytes: 1000, unsealedBytes: 500, unsealedSeconds: 60) })
        let a = ObjectAddress(Digest256(bytes: [UInt8](repeating: 1, count: 32)))
        let b = ObjectAddress(Digest256(bytes: [UInt8](repeating: 2, count: 32)))
        let held = try ledger.reserve(400, tenant: tenant, name: "t", now: 100)
        #expect(throws: SiteError.self, "room reserved by an upload in progress counts") { _ = try ledger.reserve(200, tenant: tenant, name: "t", now: 100) }
        ledger.settle(held, stored: [(a, 400)], tenant: tenant, now: 100)
        #expect(ledger.usage(tenant).unsealedBytes == 400 && ledger.usage(tenant).storedBytes == 400)
        do {
            _ = try ledger.reserve(200, tenant: tenant, name: "t", now: 101)
            Issue.record("600 unsealed bytes pass a 500-byte unsealed quota")
        } catch let error as SiteError {
            #expect(error.code == .quotaExceeded && error.status == 507 && error.message.contains("no seal reaches"), "\(error)")
        }
        ledger.sealed([a], tenant: tenant)
        let second = try ledger.reserve(450, tenant: tenant, name: "t", now: 102)
        ledger.settle(second, stored: [(b, 450)], tenant: tenant, now: 102)
        #expect(ledger.usage(tenant).storedBytes == 850 && ledger.usage(tenant).unsealedBytes == 450)
        do {
            _ = try ledger.reserve(200, tenant: tenant, name: "t", now: 103)
            Issue.record("1050 stored bytes pass a 1000-byte quota")
        } catch let error as SiteError {
            #expect(error.message.contains("its quota is"), "\(error)")
        }
        ledger.removed(objects: 1, bytes: 400, tenant: tenant)
        #expect(ledger.usage(tenant).storedBytes == 450)
        _ = ledger.changes(now: 200)
        #expect(ledger.usage(tenant).unsealedBytes == 0, "an upload older than the unsealed age no longer counts")
        let failed = try ledger.reserve(300, tenant: tenant, name: "t", now: 200)
        ledger.settle(failed, stored: [], tenant: tenant, now: 200)
        #expect(ledger.usage(tenant).storedBytes == 450, "a failed upload leaves no reservation behind")
    }

    @Test func bodiesWaitTheirTurnAndAreTurnedAwayAfterTheWait() async throws {
        let budget = BodyBudget(bytes: 100, wait: .milliseconds(300), metrics: SiteMetrics())
        try await budget.acquire(80)
        let waiting = Task { try await budget.acquire(50) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(budget.inUse == 80, "the second reservation waits")
        budget.release(80)
        try await waiting.value
        #expect(budget.inUse == 50)
        await #expect(throws: SiteError.self) { try await budget.acquire(60) }
        #expect(budget.inUse == 50, "a refused wait reserves nothing")
        let cancelled = Task { try await budget.acquire(60) }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        budget.release(50)
        #expect(budget.inUse == 0 && budget.peak == 80)
    }

    @Test func theAuditReportsImplausibleSealsItFinds() throws {
        let host = try TestKeys.host(of: try TestKeys.tenant())
        let root = ObjectAddress(Digest256(bytes: [UInt8](repeating: 3, count: 32)))
        let first = try Seal.make(hostKey: host, previous: nil, time: Timestamp(seconds: 1000, nanoseconds: 0), root: root, counts: SealCounts())
        let second = try Seal.make(hostKey: host, previous: first, time: Timestamp(seconds: 2000, nanoseconds: 0), root: root, counts: SealCounts())
        var third = try Seal.make(hostKey: host, previous: second, time: Timestamp(seconds: 3000, nanoseconds: 0), root: root,
                                  counts: SealCounts(files: 1 << 50))
        #expect(Auditor.implausibleSeals([first, second], source: "a").isEmpty)
        let findings = Auditor.implausibleSeals([third, first, second], source: "a")
        #expect(findings.map(\.kind) == [.implausibleSeal] && findings[0].message.contains("#3"), "\(findings)")
        third.counts = SealCounts()
        third.time = Timestamp(seconds: 1500, nanoseconds: 0)
        #expect(Auditor.implausibleSeals([first, second, third], source: "a").first?.message.contains("before") == true)
    }

    @Test func sitePatternsAreUniqueAndTrailNamesReadable() {
        let keys = SiteOperation.allCases.map { "\($0.method) \($0.pattern)" }
        #expect(Set(keys).count == keys.count)
        #expect(SiteOperation.putObjects.trailName == "put-objects" && SiteOperation.collectGarbage.trailName == "collect-garbage")
        #expect(SiteOperation(method: "DELETE", pattern: "/v1/tenants/{tenant}/objects/{address}") == .deleteObject)
        #expect(SiteOperation.allCases.filter(\.changesState).count == 7)
    }
}

extension TenantID {
    /// A tenant id of 16 equal bytes, for tests.
    init(bytes16 value: UInt8) { try! self.init(bytes: [UInt8](repeating: value, count: 16)) }
}
