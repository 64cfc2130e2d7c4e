import Synchronization
import SkiffCore
@testable import SkiffSiteClient
import Testing

/// The fetch batcher keeps more requests in flight the farther the site: each answer's first
/// object comes a round trip after its request, and reads started meanwhile should not wait
/// for a sender to be free.
@Suite struct FetchBatcherTests {
    /// A site `delay` away: every request answers all its addresses after `delay`; counts the
    /// requests in flight at once.
    final class FarSite: Sendable {
        let delay: Duration
        let inFlight = Mutex((now: 0, most: 0, requests: 0))
        init(delay: Duration) { self.delay = delay }

        func send(_ addresses: [ObjectAddress], _ deliver: @Sendable (ObjectAddress, [UInt8]?) -> Void) async throws {
            inFlight.withLock { $0.now += 1; $0.most = max($0.most, $0.now); $0.requests += 1 }
            defer { inFlight.withLock { $0.now -= 1 } }
            try await Task.sleep(for: delay)
            for address in addresses { deliver(address, Array(address.digest.bytes.prefix(4))) }
        }
    }

    static func addresses(_ count: Int) -> [ObjectAddress] {
        (0..<count).map { ObjectAddress(SHA256Hasher.digest(Array("object \($0)".utf8))) }
    }

    /// Starts a read every 2 ms, as a restore's look-ahead does, and waits for them all.
    static func read(_ batcher: FetchBatcher, _ addresses: [ObjectAddress]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for address in addresses {
                group.addTask {
                    let bytes = try await batcher.fetch(address)
                    #expect(bytes == Array(address.digest.bytes.prefix(4)))
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            try await group.waitForAll()
        }
    }

    @Test func aFarSiteGetsMoreRequestsInFlight() async throws {
        let far = FarSite(delay: .milliseconds(40))
        let batcher = FetchBatcher { try await far.send($0, $1) }
        try await Self.read(batcher, Self.addresses(200))
        // 40 ms to the first object: 2 + 4 senders allowed, and reads that came while two
        // requests were out left in further ones.
        #expect(await batcher.window >= 6)
        let most = far.inFlight.withLock { $0.most }
        #expect(most > 2 && most <= 8, "\(most) requests in flight at most")
    }

    @Test func aNearSiteKeepsAboutTwo() async throws {
        let near = FarSite(delay: .zero)
        let batcher = FetchBatcher { try await near.send($0, $1) }
        try await Self.read(batcher, Self.addresses(200))
        // Answers come at once: the window stays at 2 (3 when the machine is slow to schedule).
        #expect(await batcher.window <= 3)
    }
}
