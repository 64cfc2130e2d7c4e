import Foundation
import GRDB

/// The recovery point, read from the outbox: which changes are sealed but not yet durable at a
/// site or at the quorum, and how long changes took over a period. Only seals that answer
/// changes (`append(_:changesSince:)`) count; the agent adds the changes it has not sealed yet.
extension Outbox {
    /// When the oldest sealed change `site` does not hold yet was seen (Unix seconds), or nil
    /// when the site holds every seal that answers changes.
    package func oldestChangeNotDurable(at site: String) throws -> Double? {
        let held = try cursor(site).lastSealSequence.map { Int64(clamping: $0) } ?? 0
        return try oldestChange(after: held)
    }

    /// When the oldest sealed change that fewer than `quorum` sites hold was seen, or nil.
    package func oldestChangeNotDurable(quorum: Int) throws -> Double? {
        let held = try sites.map { try cursor($0).lastSealSequence.map { Int64(clamping: $0) } ?? 0 }.sorted(by: >)
        guard quorum >= 1, !held.isEmpty else { return nil }
        return try oldestChange(after: held[min(quorum, held.count) - 1])
    }

    private func oldestChange(after sequence: Int64) throws -> Double? {
        try database.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(changed_at) FROM seal_history WHERE sequence > ? AND changed_at IS NOT NULL", arguments: [sequence])
        }
    }

    /// Recovery points of the seals that became durable since `since` (Unix seconds): at each
    /// site, and at the quorum (when the `quorum`-th site held the seal).
    package func recoveryPoints(since: Double, quorum: Int) throws -> (sites: [String: RecoveryPointSummary], quorum: RecoveryPointSummary) {
        try database.read { db in
            var perSite: [String: [Double]] = Dictionary(uniqueKeysWithValues: sites.map { ($0, []) })
            var bySeal: [Int64: [Double]] = [:]
            // Every site's sample of each seal one site made durable in the period: the quorum's
            // moment may come after a first site's that fell before it.
            let rows = try Row.fetchCursor(db, sql: """
                SELECT sequence, site, changed_at, durable_at FROM seal_durability
                WHERE sequence IN (SELECT sequence FROM seal_durability WHERE durable_at >= ?)
                """, arguments: [since])
            while let row = try rows.next() {
                let changedAt: Double = row["changed_at"]
                let durableAt: Double = row["durable_at"]
                let seconds = max(0, durableAt - changedAt)
                if durableAt >= since { perSite[row["site"], default: []].append(seconds) }
                bySeal[row["sequence"], default: []].append(seconds)
            }
            let atQuorum = bySeal.values.compactMap { times -> Double? in
                guard quorum >= 1, times.count >= quorum else { return nil }
                return times.sorted()[quorum - 1]
            }
            return (perSite.mapValues(RecoveryPointSummary.init(seconds:)), RecoveryPointSummary(seconds: atQuorum))
        }
    }

    /// Inserts the sample for `sequence` at `site`, unless the seal answers no change or the
    /// site acknowledged it before (a re-delivery keeps the first time).
    static func recordDurability(_ db: Database, site: String, sequence: Int64, now: Double) throws -> DurabilitySample? {
        guard let changedAt = try Double.fetchOne(db, sql: "SELECT changed_at FROM seal_history WHERE sequence = ?", arguments: [sequence]) else {
            return nil
        }
        try db.execute(sql: "INSERT OR IGNORE INTO seal_durability (sequence, site, changed_at, durable_at) VALUES (?, ?, ?, ?)",
                       arguments: [sequence, site, changedAt, now])
        guard db.changesCount > 0 else { return nil }
        let sites = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM seal_durability WHERE sequence = ?", arguments: [sequence]) ?? 1
        return DurabilitySample(site: site, sealSequence: UInt64(sequence), changedAt: changedAt, durableAt: now, sitesDurable: sites)
    }

    /// Calls `observe` with every durability sample recorded from now on, on the acknowledging
    /// task (keep it short). Observers live as long as the outbox.
    package func observeDurability(_ observe: @escaping @Sendable (DurabilitySample) -> Void) {
        durabilityObservers.withLock { $0.append(observe) }
    }
}
