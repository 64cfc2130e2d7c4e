import Synchronization
import SkiffCore
@testable import SkiffSiteClient
import Testing

/// The fetch batcher keeps more requests in flight the farther the site: each answer's first
/// object comes a round trip after its request, and reads started meanwhile should not wait
/// for a sender to be free. The site here holds every request until the test lets it answer,
/// so what is in flight does not depend on timing.
@Suite struct FetchBatcherTests {
    final class GatedSite: Sendable {
        private let state = Mutex((open: 0, most: 0, arrivals: 0, gates: [CheckedContinuation<Void, Never>]()))

        func send(_ addresses: [ObjectAddress], _ deliver: @Sendable (ObjectAddress, [UInt8]?) -> Void) async {
            await withCheckedContinuation { gate in
                state.withLock { state in
                    state.open += 1
                    state.most = max(state.most, state.open)
                    state.arrivals += 1
                    state.gates.append(gate)
                }
            }
            for address in addresses { deliver(address, Array(address.digest.bytes.prefix(4))) }
            state.withLock { $0.open -= 1 }
        }

        /// Lets every request waiting so far answer.
        func release() {
            for gate in state.withLock({ state in defer { state.gates = [] }; return state.gates }) { gate.resume() }
        }

        var arrivals: Int { state.withLock { $0.arrivals } }
        var most: Int { state.withLock { $0.most } }
    }

    static func addresses(_ count: Int) -> [ObjectAddress] {
        (0..<count).map { ObjectAddress(SHA256Hasher.digest(Array("object \($0)".utf8))) }
    }

    /// Starts `count` reads one after another, each once the one before left in a request of
    /// its own or had to wait (the window full), then lets the site answer them all. Returns the
    /// most requests the site held at once.
    static func readOneByOne(_ batcher: FetchBatcher, _ site: GatedSite, count: Int, window: Int) async throws -> Int {
        var reads: [Task<[UInt8], any Error>] = []
        for (index, address) in addresses(count).enumerated() {
            reads.append(Task { try await batcher.fetch(address) })
            // Bounded, so that a batcher that keeps fewer in flight fails the test, not hangs it.
            let deadline = ContinuousClock.now + .seconds(10)
            while site.arrivals < min(index + 1, window) && ContinuousClock.now < deadline { await Task.yield() }
        }
        let most = site.most
        let releaser = Task {
            while !Task.isCancelled {
                site.release()
                await Task.yield()
            }
        }
        defer { releaser.cancel() }
        for (read, address) in zip(reads, addresses(count)) {
            #expect(try await read.value == Array(address.digest.bytes.prefix(4)))
        }
        return most
    }

    @Test func aFarSiteGetsMoreRequestsInFlight() async throws {
        let site = GatedSite()
        let batcher = FetchBatcher { await site.send($0, $1) }
        // Answers whose first object came 40 ms after the request: 2 + 4 senders.
        await batcher.observe(latency: 0.040)
        #expect(await batcher.window == 6)
        #expect(try await Self.readOneByOne(batcher, site, count: 10, window: 6) == 6)
    }

    @Test func aNearSiteKeepsTwo() async throws {
        let site = GatedSite()
        let batcher = FetchBatcher { await site.send($0, $1) }
        #expect(await batcher.window == 2)
        #expect(try await Self.readOneByOne(batcher, site, count: 6, window: 2) == 2)
    }

    @Test func theWindowFollowsTheLatencyUpToEight() async {
        let batcher = FetchBatcher { _, _ in }
        await batcher.observe(latency: 0.001)
        #expect(await batcher.window == 2)
        for _ in 0..<20 { await batcher.observe(latency: 0.5) }
        #expect(await batcher.window == 8)
    }
}
