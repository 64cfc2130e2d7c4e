import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol
import Synchronization

/// The registry's seal index and heads, the identity index (deduplication without a host
/// cache), and the subtrees known complete (seal checks skip them).
extension SiteRegistry {
    // MARK: Seals

    package func head(tenant: TenantID, host: String) throws -> SealHead? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT sequence, hash FROM seal_heads WHERE tenant = ? AND host = ?", arguments: [tenant.hex, host])
                .map { SealHead(sequence: UInt64($0["sequence"] as Int64), hash: Digest256(bytes: $0["hash"] as Data)) }
        }
    }

    /// Records an accepted seal: index entry and new head, in one transaction.
    /// `accepted` is now, except when the index is rebuilt from the store (the file's time).
    package func recordSeal(_ seal: Seal, tenant: TenantID, accepted: Date = Date()) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO seals (tenant, host, sequence, time, hash, accepted) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [tenant.hex, seal.hostName, Int64(seal.sequence), seal.time.unixNanoseconds, Data(seal.hash.bytes),
                                       accepted.timeIntervalSince1970])
            try db.execute(sql: """
                INSERT INTO seal_heads (tenant, host, sequence, hash) VALUES (?, ?, ?, ?)
                ON CONFLICT (tenant, host) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash
                WHERE excluded.sequence > seal_heads.sequence
                """, arguments: [tenant.hex, seal.hostName, Int64(seal.sequence), Data(seal.hash.bytes)])
        }
    }

    /// Seals of `tenant` (of one host, or all), between two times (Unix ns, inclusive),
    /// after a (host, sequence) cursor, in the order of their store keys; retained ones,
    /// or with `retired` those retention retired.
    package func seals(tenant: TenantID, host: String?, since: Int64?, until: Int64?, after: (String, UInt64)?, limit: Int, retired: Bool = false) throws -> [SealIndexEntry] {
        var sql = "SELECT * FROM seals WHERE tenant = ? AND retired IS \(retired ? "NOT NULL" : "NULL")"
        var arguments: StatementArguments = [tenant.hex]
        if let host { sql += " AND host = ?"; _ = arguments.append(contentsOf: [host]) }
        if let since { sql += " AND time >= ?"; _ = arguments.append(contentsOf: [since]) }
        if let until { sql += " AND time <= ?"; _ = arguments.append(contentsOf: [until]) }
        // Order as store keys sort: bytewise on "host/", so "web1-b/" < "web1.example/" < "web1/".
        if let after {
            sql += " AND (host || '/' > ? || '/' OR (host = ? AND sequence > ?))"
            _ = arguments.append(contentsOf: [after.0, after.0, Int64(clamping: after.1)])
        }
        sql += " ORDER BY host || '/', sequence LIMIT ?"
        _ = arguments.append(contentsOf: [limit])
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                Self.sealEntry(row)
            }
        }
    }

    static func sealEntry(_ row: Row) -> SealIndexEntry {
        let retired: Double? = row["retired"]
        return SealIndexEntry(host: row["host"], sequence: UInt64(row["sequence"] as Int64), time: row["time"],
                              hash: Hex.encode(Array(row["hash"] as Data)), accepted: Date(timeIntervalSince1970: row["accepted"]),
                              retired: retired.map { Date(timeIntervalSince1970: $0) })
    }

    // MARK: Identities

    /// Remembers which address holds each identity (advisory: answers "do you have a chunk
    /// like this?" for hosts that lost their cache).
    package func recordIdentities(_ pairs: [(TenantID, ObjectIdentity, ObjectAddress)]) throws {
        guard !pairs.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO identities (tenant, identity, address) VALUES (?, ?, ?)")
            for (tenant, identity, address) in pairs {
                try statement.execute(arguments: [tenant.hex, Data(identity.digest.bytes), Data(address.digest.bytes)])
            }
        }
    }

    package func addresses(for identities: [ObjectIdentity], tenant: TenantID) throws -> [ObjectIdentity: ObjectAddress] {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT address FROM identities WHERE tenant = ? AND identity = ?")
            var found: [ObjectIdentity: ObjectAddress] = [:]
            for identity in identities {
                if let data = try Data.fetchOne(statement, arguments: [tenant.hex, Data(identity.digest.bytes)]) {
                    found[identity] = ObjectAddress(Digest256(bytes: data))
                }
            }
            return found
        }
    }

    // MARK: Complete subtrees

    package func completeNodes(among addresses: [ObjectAddress], tenant: TenantID) throws -> Set<ObjectAddress> {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM complete_nodes WHERE tenant = ? AND address = ?")
            var complete = Set<ObjectAddress>()
            for address in addresses where try Bool.fetchOne(statement, arguments: [tenant.hex, Data(address.digest.bytes)]) == true {
                complete.insert(address)
            }
            return complete
        }
    }

    package func markComplete(_ addresses: [ObjectAddress], tenant: TenantID) throws {
        guard !addresses.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO complete_nodes (tenant, address) VALUES (?, ?)")
            for address in addresses { try statement.execute(arguments: [tenant.hex, Data(address.digest.bytes)]) }
        }
    }

    /// Forgets which subtrees are complete (after objects were deleted or quarantined).
    package func forgetCompleteness(tenant: TenantID) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM complete_nodes WHERE tenant = ?", arguments: [tenant.hex]) }
    }
}
