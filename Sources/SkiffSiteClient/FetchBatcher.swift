import SkiffCore
import SkiffStorage

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
    typealias Send = @Sendable ([ObjectAddress]) async throws -> [ObjectAddress: [UInt8]?]

    private let send: Send
    private let maxInFlight: Int
    private let maxBatch: Int
    private var pending: [(ObjectAddress, CheckedContinuation<[UInt8], any Error>)] = []
    private var senders = 0

    /// `send` returns, for each address it answered, the bytes or nil for "not at the site".
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

    private func run(_ batch: [(ObjectAddress, CheckedContinuation<[UInt8], any Error>)]) async {
        do {
            let answers = try await send(Array(Set(batch.map(\.0))))
            guard !answers.isEmpty else { throw FetchBatcherError(objects: batch.count) }
            for (address, continuation) in batch {
                switch answers[address] {
                case .some(.some(let bytes)): continuation.resume(returning: bytes)
                case .some(.none): continuation.resume(throwing: StoreError.notFound(.object(address)))
                case .none: pending.append((address, continuation))
                }
            }
        } catch {
            for (_, continuation) in batch { continuation.resume(throwing: error) }
        }
    }
}

/// The site answered a fetch without any of the objects asked for (not even "absent"): asking
/// again would loop.
struct FetchBatcherError: Error, CustomStringConvertible {
    let objects: Int
    var description: String { "the site answered a fetch of \(objects) objects with none of them" }
}
