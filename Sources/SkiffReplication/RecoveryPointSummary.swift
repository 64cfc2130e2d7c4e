/// Recovery points observed over a period: how long changes took to become durable, at one
/// site or at the quorum. `skiff status` shows one per site and one for the quorum.
package struct RecoveryPointSummary: Sendable, Codable, Equatable {
    /// Seals that answered changes and became durable in the period.
    package var count: Int
    package var p50Seconds: Double?
    package var p99Seconds: Double?
    package var maxSeconds: Double?

    /// Summarises `seconds` (in any order): nearest-rank percentiles.
    package init(seconds: [Double]) {
        let sorted = seconds.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let index = Int((q * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(sorted.count - 1, max(0, index))]
        }
        p50Seconds = rank(0.5)
        p99Seconds = rank(0.99)
        maxSeconds = sorted.last
    }
}
