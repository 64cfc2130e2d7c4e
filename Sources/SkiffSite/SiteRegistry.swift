import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol
import Synchronization

/// A tenant known to the site.
package struct TenantRecord: Sendable, Equatable {
    package var id: TenantID
    package var name: String
    package var publicKey: TenantPublicKey
    package var created: Date
}

/// A host whose seals the site accepts: its certificate, verified against the tenant key.
package struct HostRecord: Sendable, Equatable {
    package var tenant: TenantID
    package var name: String
    package var certificate: HostCertificate
    package var registered: Date
}

/// A bearer token as stored: only the SHA-256 of its secret.
package struct TokenRecord: Sendable, Equatable, Codable {
    package var id: String
    package var role: SiteRole
    package var tenants: [String]
    package var host: String?
    package var label: String
    package var created: Date
    package var revoked: Date?
}

/// The newest accepted seal of one host, which the next one must chain to.
package struct SealHead: Sendable, Equatable {
    package var sequence: UInt64
    package var hash: Digest256
}

package enum RegistryError: Error, Equatable, CustomStringConvertible {
    case tenantExists(String)
    case unknownTenant(String)
    case unknownToken(String)
    case hostNotCertified(String)
    case invalid(String)

    package var description: String {
        switch self {
        case .tenantExists(let name): return "tenant \(name) already exists"
        case .unknownTenant(let name): return "no tenant \(name)"
        case .unknownToken(let id): return "no token \(id)"
        case .hostNotCertified(let why): return "host not registered: \(why)"
        case .invalid(let why): return why
        }
    }
}

/// The site's own state in SQLite (`site.sqlite` in the data folder): tenants, hashed
/// tokens, registered hosts, seal heads and index, the identity index used to answer
/// deduplication queries, subtrees known to be complete, and the audit trail.
///
/// Objects and seals themselves live in the tenants' stores; everything here except tenants,
/// tokens, hosts and the audit trail can be rebuilt from them.
package final class SiteRegistry: Sendable {
    let database: DatabasePool
    /// Authenticated tokens, kept briefly: revocation happens in another process (the
    /// `skiff-site token revoke` command), so a cached answer may live only `tokenCacheLifetime`.
    let tokenCache = Mutex<[String: (Principal, ContinuousClock.Instant)]>([:])
    static let tokenCacheLifetime = Duration.seconds(5)
    private let tenantCache = Mutex<[TenantID: TenantRecord]>([:])

    package init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "skiff-site"
        database = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE tenants (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    public_key BLOB NOT NULL,
                    created REAL NOT NULL
                );
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY NOT NULL,
                    hash BLOB NOT NULL UNIQUE,
                    role TEXT NOT NULL,
                    host TEXT,
                    label TEXT NOT NULL,
                    created REAL NOT NULL,
                    revoked REAL
                );
                CREATE TABLE token_tenants (
                    token TEXT NOT NULL REFERENCES tokens(id),
                    tenant TEXT NOT NULL REFERENCES tenants(id),
                    PRIMARY KEY (token, tenant)
                );
                CREATE TABLE hosts (
                    tenant TEXT NOT NULL REFERENCES tenants(id),
                    name TEXT NOT NULL,
                    certificate BLOB NOT NULL,
                    registered REAL NOT NULL,
                    PRIMARY KEY (tenant, name)
                );
                CREATE TABLE seal_heads (
                    tenant TEXT NOT NULL,
                    host TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (tenant, host)
                );
                CREATE TABLE seals (
                    tenant TEXT NOT NULL,
                    host TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    time INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    accepted REAL NOT NULL,
                    PRIMARY KEY (tenant, host, sequence)
                );
                CREATE INDEX seals_by_time ON seals (tenant, time);
                CREATE TABLE identities (
                    tenant TEXT NOT NULL,
                    identity BLOB NOT NULL,
                    address BLOB NOT NULL,
                    PRIMARY KEY (tenant, identity)
                ) WITHOUT ROWID;
                CREATE TABLE complete_nodes (
                    tenant TEXT NOT NULL,
                    address BLOB NOT NULL,
                    PRIMARY KEY (tenant, address)
                ) WITHOUT ROWID;
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time REAL NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    tenant TEXT,
                    detail TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-scrub") { db in
            try db.execute(sql: """
                CREATE TABLE quarantine (
                    tenant TEXT NOT NULL,
                    address BLOB NOT NULL,
                    found REAL NOT NULL,
                    reason TEXT NOT NULL,
                    PRIMARY KEY (tenant, address)
                ) WITHOUT ROWID;
                CREATE TABLE scrub_passes (
                    tenant TEXT PRIMARY KEY NOT NULL,
                    started REAL NOT NULL,
                    completed REAL,
                    objects INTEGER NOT NULL,
                    bytes INTEGER NOT NULL,
                    quarantined INTEGER NOT NULL,
                    resume_after BLOB
                );
                """)
        }
        migrator.registerMigration("v3-retention") { db in
            try db.execute(sql: """
                ALTER TABLE seals ADD COLUMN retired REAL;
                CREATE TABLE retention (
                    tenant TEXT PRIMARY KEY NOT NULL,
                    policy TEXT NOT NULL DEFAULT '{}',
                    immutability TEXT NOT NULL DEFAULT '{"seconds":0}'
                );
                CREATE TABLE holds (
                    tenant TEXT NOT NULL,
                    host TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    created REAL NOT NULL,
                    actor TEXT NOT NULL,
                    PRIMARY KEY (tenant, host, sequence)
                );
                CREATE TABLE collections (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    tenant TEXT NOT NULL,
                    started REAL NOT NULL,
                    finished REAL,
                    actor TEXT NOT NULL,
                    report TEXT
                );
                """)
        }
        migrator.registerMigration("v4-hardening") { db in
            try db.execute(sql: """
                ALTER TABLE audit ADD COLUMN role TEXT;
                ALTER TABLE audit ADD COLUMN client TEXT;
                ALTER TABLE audit ADD COLUMN subject TEXT;
                ALTER TABLE audit ADD COLUMN code TEXT;
                CREATE TABLE quotas (
                    tenant TEXT PRIMARY KEY NOT NULL,
                    stored_bytes INTEGER,
                    unsealed_bytes INTEGER,
                    unsealed_seconds INTEGER NOT NULL
                );
                CREATE TABLE tenant_usage (
                    tenant TEXT PRIMARY KEY NOT NULL,
                    stored_bytes INTEGER NOT NULL,
                    stored_objects INTEGER NOT NULL,
                    unsealed_bytes INTEGER NOT NULL,
                    unsealed_objects INTEGER NOT NULL,
                    counted INTEGER NOT NULL,
                    updated REAL NOT NULL
                );
                """)
        }
        try migrator.migrate(database)
    }

    // MARK: Tenants

    package func addTenant(name: String, publicKey: TenantPublicKey) throws -> TenantRecord {
        guard StoreNameRules.isValidTenantName(name) else {
            throw RegistryError.invalid("tenant names are 1-64 letters, digits, '.', '_' or '-'")
        }
        let record = TenantRecord(id: publicKey.tenant, name: name, publicKey: publicKey, created: Date())
        try database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM tenants WHERE id = ? OR name = ?", arguments: [record.id.hex, name]) == true {
                throw RegistryError.tenantExists(name)
            }
            try db.execute(sql: "INSERT INTO tenants (id, name, public_key, created) VALUES (?, ?, ?, ?)",
                           arguments: [record.id.hex, name, Data(publicKey.encoded), record.created.timeIntervalSince1970])
        }
        return record
    }

    package func tenants() throws -> [TenantRecord] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM tenants ORDER BY name").map(Self.tenant) }
    }

    /// A tenant by id, cached.
    package func tenant(_ id: TenantID) throws -> TenantRecord? {
        if let cached = tenantCache.withLock({ $0[id] }) { return cached }
        let record = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tenants WHERE id = ?", arguments: [id.hex]).map(Self.tenant)
        }
        if let record { tenantCache.withLock { $0[id] = record } }
        return record
    }

    /// A tenant by name or id (hex).
    package func tenant(named nameOrID: String) throws -> TenantRecord? {
        if let id = TenantID(hex: nameOrID), let record = try tenant(id) { return record }
        return try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tenants WHERE name = ?", arguments: [nameOrID]).map(Self.tenant)
        }
    }

    private static func tenant(_ row: Row) throws -> TenantRecord {
        let data: Data = row["public_key"]
        return TenantRecord(
            id: TenantID(hex: row["id"] as String)!, name: row["name"], publicKey: try TenantPublicKey.decode(Array(data)),
            created: Date(timeIntervalSince1970: row["created"]))
    }

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

/// Naming rules for what sites create.
package enum StoreNameRules {
    package static func isValidTenantName(_ name: String) -> Bool { (try? HostName.validate(name)) != nil }
}
