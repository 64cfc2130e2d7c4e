import Foundation
import Synchronization

/// How a reader chooses among sources that hold the same object.
package enum SourceOrder: String, Sendable, CaseIterable {
    /// Fastest measured first (the default): spreads a restore over the healthy sites.
    case fastest
    /// The order given: a later source is read only when the earlier ones fail or lack the
    /// object (e.g. to keep a metered off-region link for the last resort).
    case listed
}

/// Orders a reader's sources (sites, or one local repository) by `SourceOrder`, and moves a
/// source that failed to answer to the back.
final class SourceRanking: Sendable {
    private struct Source {
        /// Moving average of seconds per fetched MiB (plus a per-request floor).
        var secondsPerMiB: Double
        var failures: Int
    }

    private let state: Mutex<[Source]>
    private let policy: SourceOrder

    /// - Parameter count: the number of sources; before any measurement they rank in index order.
    init(count: Int, policy: SourceOrder) {
        self.policy = policy
        state = Mutex((0..<count).map { Source(secondsPerMiB: 0.001 * Double($0 + 1), failures: 0) })
    }

    /// Source indexes, best first: fewest recent failures, then fastest (or first listed).
    func order() -> [Int] {
        state.withLock { sources in
            switch policy {
            case .fastest:
                sources.indices.sorted { (sources[$0].failures, sources[$0].secondsPerMiB) < (sources[$1].failures, sources[$1].secondsPerMiB) }
            case .listed:
                sources.indices.sorted { (sources[$0].failures, $0) < (sources[$1].failures, $1) }
            }
        }
    }

    func recordSuccess(_ index: Int, bytes: Int, seconds: Double) {
        let sample = seconds / max(Double(bytes) / 1_048_576, 0.0625)
        state.withLock { sources in
            sources[index].secondsPerMiB = 0.8 * sources[index].secondsPerMiB + 0.2 * sample
            sources[index].failures = max(0, sources[index].failures - 1)
        }
    }

    func recordFailure(_ index: Int) {
        state.withLock { $0[index].failures += 4 }
    }
}
