import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// The seal index as a whole, for checking it against the store and rebuilding it from the
/// store (`SiteService+Index`).
extension SiteRegistry {
    /// Every indexed seal of the tenant, retained and retired, by host and sequence.
    package func allSeals(tenant: TenantID) throws -> [SealIndexEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM seals WHERE tenant = ? ORDER BY host, sequence", arguments: [tenant.hex]).map(Self.sealEntry)
        }
    }

    /// Every host's head, by host.
    package func heads(tenant: TenantID) throws -> [String: SealHead] {
        try database.read { db in
            var heads: [String: SealHead] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT host, sequence, hash FROM seal_heads WHERE tenant = ?", arguments: [tenant.hex]) {
                heads[row["host"]] = SealHead(sequence: UInt64(row["sequence"] as Int64), hash: Digest256(bytes: row["hash"] as Data))
            }
            return heads
        }
    }

    /// Sets a host's head (a repair: normally the head only moves forward, in `recordSeal`).
    package func setHead(_ head: SealHead, tenant: TenantID, host: String) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO seal_heads (tenant, host, sequence, hash) VALUES (?, ?, ?, ?)",
                           arguments: [tenant.hex, host, Int64(clamping: head.sequence), Data(head.hash.bytes)])
        }
    }

    /// Marks a seal retained again (a repair, when its file is in `seals/`, not `retired/`).
    package func markRetained(tenant: TenantID, host: String, sequence: UInt64) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE seals SET retired = NULL WHERE tenant = ? AND host = ? AND sequence = ?",
                           arguments: [tenant.hex, host, Int64(clamping: sequence)])
        }
    }

    /// Forgets everything of the tenant that the store can rebuild: seals, heads, identities,
    /// complete subtrees (before `SiteService.reindex` reads them back from the store).
    package func dropSealIndex(tenant: TenantID) throws {
        try database.write { db in
            for table in ["seals", "seal_heads", "identities", "complete_nodes"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE tenant = ?", arguments: [tenant.hex])
            }
        }
    }
}
