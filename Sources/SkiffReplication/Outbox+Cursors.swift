import Foundation
import GRDB
import SkiffCore

/// Each site's cursor in the outbox: how far it holds the entries, its last seal and error,
/// acknowledgements and what is still waiting for it.
extension Outbox {
    package func cursor(_ site: String) throws -> SiteCursor {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM cursors WHERE site = ?", arguments: [site]) else {
                return SiteCursor(site: site, deliveredThrough: 0)
            }
            let hash: Data? = row["last_seal_hash"]
            let sequence: Int64? = row["last_seal_sequence"]
            return SiteCursor(site: site, deliveredThrough: row["delivered_through"], lastSealSequence: sequence.map(UInt64.init),
                              lastSealHash: hash.map { Hex.encode(Array($0)) }, lastSealTime: row["last_seal_time"],
                              lastSuccess: row["last_success"], lastError: row["last_error"])
        }
    }

    /// Records that `site` holds every entry up to `sequence` (and, for a seal, which one).
    /// The first acknowledgement of a seal that answers changes records when it became durable
    /// at the site, and tells the durability observers.
    package func acknowledge(site: String, through sequence: Int64, seal: Seal? = nil) async throws {
        let now = Date().timeIntervalSince1970
        let sample = try await database.write { db -> DurabilitySample? in
            try db.execute(sql: "UPDATE cursors SET delivered_through = MAX(delivered_through, ?), last_success = ?, last_error = NULL WHERE site = ?",
                           arguments: [sequence, now, site])
            guard let seal else { return nil }
            try db.execute(sql: "UPDATE cursors SET last_seal_sequence = ?, last_seal_hash = ?, last_seal_time = ? WHERE site = ?",
                           arguments: [Int64(seal.sequence), Data(seal.hash.bytes), Double(seal.time.seconds) + Double(seal.time.nanoseconds) / 1e9, site])
            return try Self.recordDurability(db, site: site, sequence: Int64(seal.sequence), now: now)
        }
        noteChange()
        if let sample {
            for observe in durabilityObservers.withLock({ $0 }) { observe(sample) }
        }
    }

    package func recordError(site: String, _ message: String) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE cursors SET last_error = ? WHERE site = ?", arguments: [message, site])
        }
    }

    /// Waits until at least `count` sites have acknowledged `sequence`, or `timeout` passes.
    /// Returns the sites that have.
    package func waitForAcknowledgements(of sequence: Int64, count: Int, timeout: Duration) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let ticket = changed.ticket()
            let done = try sites.filter { try cursor($0).deliveredThrough >= sequence }
            if done.count >= count || ContinuousClock.now >= deadline { return done }
            await changed.wait(ticket, until: deadline)
        }
    }

    /// Entries waiting for `site`, and their total size.
    package func backlog(of site: String) throws -> (entries: Int, bytes: Int, oldest: Double?) {
        let through = try cursor(site).deliveredThrough
        var (count, bytes, oldest) = try database.read { db -> (Int, Int, Double?) in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b, MIN(created) AS o FROM entries WHERE sequence > ?", arguments: [through])
            return (row?["n"] ?? 0, row?["b"] ?? 0, row?["o"])
        }
        for entry in state.withLock({ $0.pending }) where entry.sequence > through {
            count += 1
            bytes += entry.size
            oldest = min(oldest ?? entry.created, entry.created)
        }
        return (count, bytes, oldest)
    }
}
