import Foundation
import SkiffCore
import SkiffGraph
import SkiffSystem
import Synchronization

/// What changed since the last snapshot: paths (deduplicated) or "everything" after an
/// overflow, handed out as one change set on the leading edge: the first change after a quiet
/// spell starts a change set `settle` later (time for the other events of the same write to
/// arrive), and changes that arrive while a snapshot runs wait for the next set, which starts
/// no sooner than `minInterval` after the previous one started. An isolated write is thus taken
/// within `settle`; a burst or a steady stream makes at most one change set per `minInterval`
/// (and never two at once: the agent asks for the next only when its snapshot is sealed).
///
/// Memory is bounded: past `maxPaths` distinct paths the set collapses into a full rescan.
package final class ChangeCollector: Sendable {
    package struct ChangeSet: Sendable, Equatable {
        /// Changed paths (empty for a full rescan).
        package var paths: Set<RawPath>
        /// Why everything must be rescanned, if it must.
        package var rescanReason: String?
        /// When the collector learnt of the set's oldest change (Unix seconds, wall clock): the
        /// start of its recovery-point measurement. Nil for a periodic safety rescan, which
        /// answers no change.
        package var firstChange: Double?
        /// When the set was handed out (wall clock): every change the collector learnt of
        /// before then is in it, so its snapshot is sealed with this time.
        package var takenAt: Timestamp

        package init(paths: Set<RawPath>, rescanReason: String? = nil, firstChange: Double? = nil, takenAt: Timestamp = TimeFormat.now()) {
            self.paths = paths
            self.rescanReason = rescanReason
            self.firstChange = firstChange
            self.takenAt = takenAt
        }
    }

    private struct State {
        var paths: Set<RawPath> = []
        var rescanReason: String?
        var first: ContinuousClock.Instant?
        var firstWall: Double?
        /// When the previous change set was handed out.
        var handedOut: ContinuousClock.Instant?
        var waiter: CheckedContinuation<Void, Never>?

        /// Starts the recovery-point clock at the first change of a set.
        mutating func noteFirst(_ now: ContinuousClock.Instant) {
            guard first == nil else { return }
            first = now
            firstWall = Date().timeIntervalSince1970
        }
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
            state.noteFirst(now)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Asks for a change set that walks everything. `since` (Unix seconds) is when the changes
    /// it stands for began, when known (a failed snapshot's set): the recovery point is measured
    /// from it, not from now.
    package func requestRescan(reason: String, since: Double? = nil) {
        rescansRequested.add(1, ordering: .relaxed)
        let now = clock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.paths = []
            state.rescanReason = state.rescanReason ?? reason
            state.noteFirst(now)
            if let since { state.firstWall = min(state.firstWall ?? since, since) }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// When the oldest change not yet handed out was learnt (Unix seconds), if any is waiting.
    package var oldestPending: Double? { state.withLock { $0.firstWall } }

    /// Waits for the next change set: until something changed, then until `settle` passed since
    /// the first change and `minInterval` since the previous set was handed out. Changes keep
    /// joining the set until it is handed out; a steady stream never delays it further.
    /// Cancellation returns nil at once.
    package func next(settle: Duration, minInterval: Duration) async -> ChangeSet? {
        while !Task.isCancelled {
            let pending = state.withLock { state -> (ContinuousClock.Instant, ContinuousClock.Instant?)? in
                guard let first = state.first else { return nil }
                return (first, state.handedOut)
            }
            guard let (first, handedOut) = pending else {
                await waitForChange()
                continue
            }
            let due = Self.due(first: first, handedOut: handedOut, settle: settle, minInterval: minInterval)
            let now = clock.now
            if now >= due {
                return state.withLock { state in
                    defer { state = State(handedOut: now, waiter: state.waiter) }
                    return ChangeSet(paths: state.paths, rescanReason: state.rescanReason, firstChange: state.firstWall, takenAt: TimeFormat.now())
                }
            }
            try? await clock.sleep(until: due)
        }
        return nil
    }

    /// When a change set whose first change came at `first` is handed out: `settle` after it,
    /// and no sooner than `minInterval` after the previous set (`handedOut`, if any). Later
    /// changes never move it: a steady stream does not postpone the set.
    package static func due(first: ContinuousClock.Instant, handedOut: ContinuousClock.Instant?, settle: Duration,
                            minInterval: Duration) -> ContinuousClock.Instant {
        max(first + settle, handedOut.map { $0 + minInterval } ?? first)
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
