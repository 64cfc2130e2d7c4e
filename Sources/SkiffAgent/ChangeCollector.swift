import SkiffSystem
import Synchronization

/// What changed since the last snapshot: paths (deduplicated) or "everything" after an
/// overflow, gathered until the tree has been quiet for the debounce window (or the oldest
/// change waited `maxDelay`), then handed out as one change set.
///
/// Memory is bounded: past `maxPaths` distinct paths the set collapses into a full rescan.
package final class ChangeCollector: Sendable {
    package struct ChangeSet: Sendable, Equatable {
        /// Changed paths (empty for a full rescan).
        package var paths: Set<RawPath>
        /// Why everything must be rescanned, if it must.
        package var rescanReason: String?
    }

    private struct State {
        var paths: Set<RawPath> = []
        var rescanReason: String?
        var first: ContinuousClock.Instant?
        var last: ContinuousClock.Instant?
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()
    let maxPaths: Int
    /// Full rescans asked for since start (overflow, watch limit, timer).
    package let rescansRequested = Atomic<Int>(0)

    package init(maxPaths: Int = 100_000) {
        self.maxPaths = maxPaths
    }

    /// Whether changes are waiting for the next change set.
    package var hasPending: Bool { state.withLock { $0.first != nil } }

    package func record(_ path: RawPath) {
        let now = clock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.rescanReason == nil {
                state.paths.insert(path)
                if state.paths.count > maxPaths {
                    state.paths = []
                    state.rescanReason = "more than \(maxPaths) paths changed"
                }
            }
            if state.first == nil { state.first = now }
            state.last = now
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    package func requestRescan(reason: String) {
        rescansRequested.add(1, ordering: .relaxed)
        let now = clock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.paths = []
            state.rescanReason = state.rescanReason ?? reason
            if state.first == nil { state.first = now }
            state.last = now
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for the next change set: until something changed, then until `debounce` passed
    /// without a change or `maxDelay` since the first. Cancellation returns nil at once.
    package func next(debounce: Duration, maxDelay: Duration) async -> ChangeSet? {
        while !Task.isCancelled {
            let pending = state.withLock { state -> (ContinuousClock.Instant, ContinuousClock.Instant)? in
                guard let first = state.first, let last = state.last else { return nil }
                return (first, last)
            }
            guard let (first, last) = pending else {
                await waitForChange()
                continue
            }
            let due = min(last + debounce, first + maxDelay)
            if clock.now >= due {
                return state.withLock { state in
                    defer { state = State(waiter: state.waiter) }
                    return ChangeSet(paths: state.paths, rescanReason: state.rescanReason)
                }
            }
            try? await clock.sleep(until: due)
        }
        return nil
    }

    /// Returns when a change arrives (or the task is cancelled).
    private func waitForChange() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.first != nil || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
