import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// Retention settings, holds, retired seals and the record of collections.
extension SiteRegistry {
    // MARK: Settings

    package func retentionSettings(tenant: TenantID) throws -> RetentionSettings {
        try database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT policy, immutability FROM retention WHERE tenant = ?", arguments: [tenant.hex])
            let decoder = SiteAPI.jsonDecoder()
            let policy = try row.map { try decoder.decode(RetentionPolicy.self, from: Data(($0["policy"] as String).utf8)) } ?? .keepEverything
            let window = try Self.immutabilityWindow(row?["immutability"])
            let holds = try Row.fetchAll(db, sql: "SELECT * FROM holds WHERE tenant = ? ORDER BY host, sequence", arguments: [tenant.hex]).map { row in
                RetentionHold(host: row["host"], sequence: UInt64(row["sequence"] as Int64), label: row["label"],
                              created: Date(timeIntervalSince1970: row["created"]), actor: row["actor"])
            }
            return RetentionSettings(policy: policy, immutability: window, holds: holds)
        }
    }

    package func setRetentionPolicy(_ policy: RetentionPolicy, tenant: TenantID) throws {
        let text = String(decoding: try SiteAPI.jsonEncoder().encode(policy), as: UTF8.self)
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO retention (tenant, policy) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET policy = excluded.policy
                """, arguments: [tenant.hex, text])
        }
    }

    /// Asks for a new immutability window; returns what is now recorded (see
    /// `ImmutabilityWindow.changed(to:at:)`: shortening waits for the current window).
    package func setImmutability(seconds: Int, tenant: TenantID, now: Date = Date()) throws -> ImmutabilityWindow {
        try database.write { db in
            let current = try Self.immutabilityWindow(String.fetchOne(db, sql: "SELECT immutability FROM retention WHERE tenant = ?", arguments: [tenant.hex]))
            let next = current.changed(to: seconds, at: now)
            let text = String(decoding: try SiteAPI.jsonEncoder().encode(next), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO retention (tenant, immutability) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET immutability = excluded.immutability
                """, arguments: [tenant.hex, text])
            return next
        }
    }

    /// A stored window, or none (0 s) for a tenant that never had one.
    private static func immutabilityWindow(_ text: String?) throws -> ImmutabilityWindow {
        try text.map { try SiteAPI.jsonDecoder().decode(ImmutabilityWindow.self, from: Data($0.utf8)) } ?? ImmutabilityWindow(seconds: 0)
    }

    // MARK: Holds

    package func addHold(_ hold: RetentionHold, tenant: TenantID) throws {
        try database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM seals WHERE tenant = ? AND host = ? AND sequence = ?",
                                    arguments: [tenant.hex, hold.host, Int64(clamping: hold.sequence)]) == true else {
                throw RegistryError.invalid("no seal #\(hold.sequence) of \(hold.host) here")
            }
            try db.execute(sql: "INSERT OR REPLACE INTO holds (tenant, host, sequence, label, created, actor) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [tenant.hex, hold.host, Int64(clamping: hold.sequence), hold.label, hold.created.timeIntervalSince1970, hold.actor])
        }
    }

    package func removeHold(host: String, sequence: UInt64, tenant: TenantID) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM holds WHERE tenant = ? AND host = ? AND sequence = ?", arguments: [tenant.hex, host, Int64(clamping: sequence)])
            guard db.changesCount == 1 else { throw RegistryError.invalid("no hold on seal #\(sequence) of \(host)") }
        }
    }

    // MARK: Seals

    /// Every retained seal of the tenant, as retention sees them.
    package func retentionCandidates(tenant: TenantID) throws -> [RetentionPlan.Candidate] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM seals WHERE tenant = ? AND retired IS NULL", arguments: [tenant.hex]).map { row in
                let entry = Self.sealEntry(row)
                return RetentionPlan.Candidate(host: entry.host, sequence: entry.sequence, time: entry.time, hash: entry.hash, accepted: entry.accepted)
            }
        }
    }

    /// One seal's index entry, retained or retired.
    package func sealEntry(tenant: TenantID, host: String, sequence: UInt64) throws -> SealIndexEntry? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM seals WHERE tenant = ? AND host = ? AND sequence = ?",
                             arguments: [tenant.hex, host, Int64(clamping: sequence)]).map(Self.sealEntry)
        }
    }

    package func markRetired(tenant: TenantID, host: String, sequence: UInt64, at time: Date = Date()) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE seals SET retired = ? WHERE tenant = ? AND host = ? AND sequence = ? AND retired IS NULL",
                           arguments: [time.timeIntervalSince1970, tenant.hex, host, Int64(clamping: sequence)])
        }
    }

    // MARK: Collections

    /// Records the start of a collection; returns its id.
    package func beginCollection(tenant: TenantID, actor: String, started: Date) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "INSERT INTO collections (tenant, started, actor) VALUES (?, ?, ?)",
                           arguments: [tenant.hex, started.timeIntervalSince1970, actor])
            return db.lastInsertedRowID
        }
    }

    package func finishCollection(_ id: Int64, report: CollectionReport) throws {
        let text = String(decoding: try SiteAPI.jsonEncoder().encode(report), as: UTF8.self)
        try database.write { db in
            try db.execute(sql: "UPDATE collections SET finished = ?, report = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, text, id])
        }
    }

    /// The newest finished collection of a tenant.
    package func lastCollection(tenant: TenantID) throws -> CollectionReport? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT report FROM collections WHERE tenant = ? AND finished IS NOT NULL ORDER BY id DESC LIMIT 1",
                                arguments: [tenant.hex])
                .map { try SiteAPI.jsonDecoder().decode(CollectionReport.self, from: Data($0.utf8)) }
        }
    }

    /// Tenants whose last collection started but never finished (the site was stopped or killed).
    package func interruptedCollections() throws -> [TenantID] {
        try database.read { db in
            try String.fetchAll(db, sql: """
                SELECT tenant FROM collections c WHERE finished IS NULL AND id = (SELECT MAX(id) FROM collections WHERE tenant = c.tenant)
                """).compactMap { TenantID(hex: $0) }
        }
    }
}
