import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol
import Synchronization

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
}

/// Naming rules for what sites create.
package enum StoreNameRules {
    package static func isValidTenantName(_ name: String) -> Bool { (try? HostName.validate(name)) != nil }
}
