import Foundation
import Hummingbird
import Synchronization

/// One memory budget shared by every request body in flight (docs/PROTOCOL.md, "Limits"), so
/// the site's memory stays bounded whatever the number of clients. A request reserves its
/// declared length (bodies are copied once, as they arrive, into the arrays the site keeps),
/// or its route's limit when it declares none, before a byte of its body is read; while the budget is spent,
/// it waits its turn (first come, first served, and unread: the client's bytes stay in the
/// kernel), for at most `wait`, then is refused `503 overloaded` with `Retry-After`.
///
/// A reservation larger than the whole budget is cut to the budget, so it runs alone.
package final class BodyBudget: Sendable {
    package let capacity: Int
    package let wait: Duration
    let metrics: SiteMetrics

    private struct Waiter {
        let id: UInt64
        let bytes: Int
        let continuation: CheckedContinuation<Void, any Error>
        let timeout: Task<Void, Never>
    }

    private struct State {
        var inUse = 0
        var peak = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    package init(bytes: Int, wait: Duration, metrics: SiteMetrics) {
        capacity = max(1, bytes)
        self.wait = wait
        self.metrics = metrics
        metrics.bodyMemory(inUse: 0, peak: 0, budget: capacity)
    }

    /// Runs `body` with room reserved for `request`'s body (at most `limit` bytes long).
    /// - Throws: `tooLarge` at once when the declared length is over `limit`; `overloaded`
    ///   when no room came within `wait`; what `body` throws.
    package func withRoom<T>(for request: Request, limit: Int, _ body: () async throws -> T) async throws -> T {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw SiteError.tooLarge("the body declares \(declared) bytes; at most \(limit) are accepted here") }
        let bytes = min(capacity, declared ?? limit)
        try await acquire(bytes)
        defer { release(bytes) }
        return try await body()
    }

    /// Bytes reserved now, and the most ever reserved at once.
    package var inUse: Int { state.withLock { $0.inUse } }
    package var peak: Int { state.withLock { $0.peak } }

    func acquire(_ bytes: Int) async throws {
        let admitted = state.withLock { state in
            guard state.waiters.isEmpty, state.inUse + bytes <= capacity else { return false }
            state.inUse += bytes
            return true
        }
        if admitted { return published() }
        metrics.bodyWaited()
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Bool, any Error> in
                    // Cancelled before queueing: the cancellation handler found nothing to take out.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    // Room may have come between the first look and now.
                    if state.waiters.isEmpty, state.inUse + bytes <= capacity {
                        state.inUse += bytes
                        return .success(true)
                    }
                    let timeout = Task { [wait] in
                        try? await Task.sleep(for: wait)
                        if !Task.isCancelled { self.abandon(id, with: SiteError.overloaded(retryAfter: 2)) }
                    }
                    state.waiters.append(Waiter(id: id, bytes: bytes, continuation: continuation, timeout: timeout))
                    return .success(false)
                }
                switch outcome {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            abandon(id, with: CancellationError())
        }
        published()
    }

    func release(_ bytes: Int) {
        let admitted = state.withLock { state -> [Waiter] in
            state.inUse -= bytes
            var admitted: [Waiter] = []
            while let first = state.waiters.first, state.inUse + first.bytes <= capacity {
                state.inUse += first.bytes
                admitted.append(state.waiters.removeFirst())
            }
            return admitted
        }
        for waiter in admitted {
            waiter.timeout.cancel()
            waiter.continuation.resume()
        }
        published()
    }

    /// Takes a waiter out of the queue, failing it with `error`; nothing when it was admitted.
    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeout.cancel()
        if error is SiteError { metrics.bodyRefused() }
        waiter.continuation.resume(throwing: error)
        // The queue's head may have been the one blocking those behind it.
        release(0)
    }

    private func published() {
        let (inUse, peak) = state.withLock { state in
            state.peak = max(state.peak, state.inUse)
            return (state.inUse, state.peak)
        }
        metrics.bodyMemory(inUse: inUse, peak: peak, budget: capacity)
    }
}
