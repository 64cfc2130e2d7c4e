import Foundation
import Synchronization

/// Orders a reader's sources (sites, or one local repository) fastest first, from what each
/// fetch measured, and moves a source that failed to the back.
final class SourceRanking: Sendable {
    private struct Source {
        /// Moving average of seconds per fetched MiB (plus a per-request floor).
        var secondsPerMiB: Double
        var failures: Int
    }

    private let state: Mutex<[Source]>

    /// - Parameter initialOrder: the order to start with (e.g. by health-probe latency).
    init(count: Int) {
        state = Mutex((0..<count).map { Source(secondsPerMiB: 0.001 * Double($0 + 1), failures: 0) })
    }

    /// Source indexes, best first: fewest recent failures, then fastest.
    func order() -> [Int] {
        state.withLock { sources in
            sources.indices.sorted { (sources[$0].failures, sources[$0].secondsPerMiB) < (sources[$1].failures, sources[$1].secondsPerMiB) }
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
