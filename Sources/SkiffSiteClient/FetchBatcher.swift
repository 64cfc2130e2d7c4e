import SkiffCore
import SkiffStorage
import Synchronization

/// Gathers the object reads that callers make at the same time into few `POST …/fetch`
/// requests, so a restore of thousands of small files does not cost an HTTP exchange per
/// object. Callers see a plain `get`: each waits for its own object.
///
/// Senders run at once up to a window that follows the measured round trip: 2 on a near site,
/// one more per 10 ms of the time to an answer's first object, at most `maxInFlight` (8, the
/// connections kept per site). A sender waits for its whole answer, so reads that callers start
/// while answers stream in (an audit's next objects) need a free sender to leave without a
/// round trip's wait. A sender first lets the tasks that are ready run (one `Task.yield`), so
/// that reads started together (a restore's read-ahead) leave together, then sends what is
/// queued, up to `maxBatch` objects per request, until the queue is empty.
/// A failed request fails the reads it carried (callers then try another site); an object the
/// answer leaves out (size limit) is asked for again.
actor FetchBatcher {
    /// Sends one request for the addresses and calls `deliver` for each object answered, as it
    /// arrives (nil: not at the site).
    typealias Send = @Sendable (_ addresses: [ObjectAddress], _ deliver: @Sendable (ObjectAddress, [UInt8]?) -> Void) async throws -> Void
    typealias Waiter = CheckedContinuation<[UInt8], any Error>

    private let send: Send
    private let maxInFlight: Int
    private let maxBatch: Int
    private var pending: [(ObjectAddress, Waiter)] = []
    private var senders = 0
    /// The time to the first object of the latest answers (smoothed), in seconds; nil before one.
    private var latency: Double?

    /// `send` delivers, for each address it answered, the bytes or nil for "not at the site".
    init(maxInFlight: Int = 8, maxBatch: Int = 256, send: @escaping Send) {
        self.send = send
        self.maxInFlight = maxInFlight
        self.maxBatch = maxBatch
    }

    /// Senders allowed now: 2, plus one per 10 ms of latency, at most `maxInFlight`.
    var window: Int { min(maxInFlight, 2 + Int((latency ?? 0) / 0.010)) }

    func observe(latency sample: Double) {
        latency = latency.map { 0.75 * $0 + 0.25 * sample } ?? sample
    }

    /// The object's stored bytes. Throws `StoreError.notFound` when the site lacks it.
    func fetch(_ address: ObjectAddress) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((address, continuation))
            startSenderIfPossible()
        }
    }

    private func startSenderIfPossible() {
        guard senders < window && !pending.isEmpty else { return }
        senders += 1
        Task { await self.sendQueued() }
    }

    private func sendQueued() async {
        await Task.yield()
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            startSenderIfPossible()
            await run(batch)
        }
        senders -= 1
    }

    /// Sends one request. Each read is answered as its object arrives; when the request fails,
    /// the reads it had not answered yet fail; those the answer left out are queued again.
    private func run(_ batch: [(ObjectAddress, Waiter)]) async {
        let waiting = Mutex(Dictionary(grouping: batch, by: \.0).mapValues { $0.map(\.1) })
        let addresses = Array(waiting.withLock { $0.keys })
        var failure: (any Error)?
        let started = ContinuousClock.now
        let firstDelivery = Mutex<Duration?>(nil)
        do {
            try await send(addresses) { address, bytes in
                firstDelivery.withLock { $0 = $0 ?? ContinuousClock.now - started }
                for waiter in waiting.withLock({ $0.removeValue(forKey: address) ?? [] }) {
                    if let bytes { waiter.resume(returning: bytes) } else { waiter.resume(throwing: StoreError.notFound(.object(address))) }
                }
            }
        } catch {
            failure = error
        }
        if let first = firstDelivery.withLock({ $0 }) {
            observe(latency: Double(first.components.seconds) + Double(first.components.attoseconds) / 1e18)
        }
        let unanswered = waiting.withLock { table in
            defer { table.removeAll() }
            return table
        }
        if failure == nil && unanswered.count == addresses.count { failure = FetchBatcherError(objects: addresses.count) }
        for (address, waiters) in unanswered {
            for waiter in waiters {
                if let failure { waiter.resume(throwing: failure) } else { pending.append((address, waiter)) }
            }
        }
    }
}

/// The site answered a fetch without any of the objects asked for (not even "absent"): asking
/// again would loop.
struct FetchBatcherError: Error, CustomStringConvertible {
    let objects: Int
    var description: String { "the site answered a fetch of \(objects) objects with none of them" }
}
