import Synchronization

/// A clock a test sets by hand (Unix seconds), for what takes a clock (`MemoryStore`), so that
/// ages and cutoffs are exact instead of waited for.
package final class ManualClock: Sendable {
    private let seconds: Mutex<Int>

    package init(_ seconds: Int) { self.seconds = Mutex(seconds) }

    package var now: Int { seconds.withLock { $0 } }

    package func set(_ value: Int) { seconds.withLock { $0 = value } }

    package func advance(by delta: Int) { seconds.withLock { $0 += delta } }
}
