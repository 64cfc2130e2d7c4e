import SkiffCore
import SkiffStorage
import Synchronization

/// Gathers the object reads that callers make at the same time into few `POST …/fetch`
/// requests, so a restore of thousands of small files does not cost an HTTP exchange per
/// object. Callers see a plain `get`: each waits for its own object.
///
/// Up to `maxInFlight` senders run at once. A sender first lets the tasks that are ready run
/// (one `Task.yield`), so that reads started together (a restore's read-ahead) leave together,
/// then sends what is queued, up to `maxBatch` objects per request, until the queue is empty.
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

    /// `send` delivers, for each address it answered, the bytes or nil for "not at the site".
    init(maxInFlight: Int = 2, maxBatch: Int = 256, send: @escaping Send) {
        self.send = send
        self.maxInFlight = maxInFlight
        self.maxBatch = maxBatch
    }

    /// The object's stored bytes. Throws `StoreError.notFound` when the site lacks it.
    func fetch(_ address: ObjectAddress) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((address, continuation))
            startSenderIfPossible()
        }
    }

    private func startSenderIfPossible() {
        guard senders < maxInFlight && !pending.isEmpty else { return }
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
        do {
            try await send(addresses) { address, bytes in
                for waiter in waiting.withLock({ $0.removeValue(forKey: address) ?? [] }) {
                    if let bytes { waiter.resume(returning: bytes) } else { waiter.resume(throwing: StoreError.notFound(.object(address))) }
                }
            }
        } catch {
            failure = error
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
