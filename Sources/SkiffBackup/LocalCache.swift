import Foundation
import GRDB
import SkiffCore

/// A host's local state for one repository, in SQLite (through GRDB):
///
/// - `objects`: keyed identity → address of every object this host knows to be stored
///   durably, so unchanged data is never uploaded twice, across runs and restarts.
/// - `directories`: path → the directory's tree node and its entries with their stat data
///   and contents (`LocalCache+Directories`), so an unchanged file is not even read and an
///   unchanged directory keeps its tree node.
/// - `state`: the last seal this host committed, to chain the next one.
///
/// Holds no key and no plaintext content: only paths and stat data of the host's own
/// current files, and keyed identities. Losing it costs time, never data: see
/// `rebuildObjectIndex`.
package final class LocalCache: Sendable {
    let database: DatabasePool
    package let path: String

    /// Opens (creating if needed) the cache at `path`.
    package init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "skiff-cache"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        database = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE objects (
                    identity BLOB PRIMARY KEY NOT NULL,
                    address BLOB NOT NULL,
                    kind INTEGER NOT NULL,
                    size INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE files (
                    path BLOB PRIMARY KEY NOT NULL,
                    device INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    ctime INTEGER NOT NULL,
                    mode INTEGER NOT NULL,
                    content_kind INTEGER NOT NULL,
                    content_address BLOB
                ) WITHOUT ROWID;
                CREATE TABLE state (
                    key TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-subtrees") { db in
            try db.execute(sql: """
                CREATE TABLE subtrees (
                    path BLOB PRIMARY KEY NOT NULL,
                    inode INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    ctime INTEGER NOT NULL,
                    address BLOB NOT NULL,
                    files INTEGER NOT NULL,
                    directories INTEGER NOT NULL,
                    others INTEGER NOT NULL,
                    bytes INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-seen") { db in
            // Entries written before this column existed count as seen now: they are at most as
            // old as the host's newest seal, which every site keeps.
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
                UPDATE objects SET seen = CAST(strftime('%s', 'now') AS INTEGER);
                """)
        }
        migrator.registerMigration("v4-directories") { db in
            // One row per directory replaces a row per file and the agent's subtree rows. The old
            // rows are dropped, not converted: the next backup reads every file once more
            // (deduplication stores nothing new).
            try db.execute(sql: """
                CREATE TABLE directories (
                    path BLOB PRIMARY KEY NOT NULL,
                    inode INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    ctime INTEGER NOT NULL,
                    address BLOB,
                    files INTEGER NOT NULL,
                    directories INTEGER NOT NULL,
                    others INTEGER NOT NULL,
                    bytes INTEGER NOT NULL,
                    complete INTEGER NOT NULL,
                    entries BLOB NOT NULL
                ) WITHOUT ROWID;
                DROP TABLE files;
                DROP TABLE subtrees;
                """)
        }
        try migrator.migrate(database)
    }

    // MARK: Objects

    /// The address of a durably stored object with this identity, if known and seen (stored,
    /// or referenced by a sealed snapshot) at or after `seenSince` (Unix seconds; rule W6).
    package func address(for identity: ObjectIdentity, seenSince: Int64) throws -> ObjectAddress? {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT address FROM objects WHERE identity = ? AND seen >= ?")
            return try Data.fetchOne(statement, arguments: [Data(identity.digest.bytes), seenSince]).map { ObjectAddress(Digest256(bytes: $0)) }
        }
    }

    /// Marks objects as referenced by a snapshot sealed at `seen` (Unix seconds).
    package func confirmObjects(_ identities: some Sequence<ObjectIdentity>, seen: Int64) throws {
        try database.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE objects SET seen = ? WHERE identity = ? AND seen < ?")
            for identity in identities { try statement.execute(arguments: [seen, Data(identity.digest.bytes), seen]) }
        }
    }

    /// Every identity in the cache, streamed to `body` (to build an in-memory filter).
    package func forEachIdentity(_ body: (ObjectIdentity) -> Void) throws {
        try database.read { db in
            let cursor = try Data.fetchCursor(db, sql: "SELECT identity FROM objects")
            while let data = try cursor.next() { body(ObjectIdentity(Digest256(bytes: data))) }
        }
    }

    package struct ObjectRecord: Sendable {
        package var identity: ObjectIdentity
        package var address: ObjectAddress
        package var kind: ObjectKind
        package var size: Int
        /// When it was stored or last referenced by a sealed snapshot (Unix seconds).
        package var seen: Int64

        package init(identity: ObjectIdentity, address: ObjectAddress, kind: ObjectKind, size: Int, seen: Int64 = Int64(Date().timeIntervalSince1970)) {
            self.seen = seen
            self.identity = identity
            self.address = address
            self.kind = kind
            self.size = size
        }
    }

    /// Records objects that are durably stored. Call only after the destination's checkpoint.
    package func recordObjects(_ records: [ObjectRecord]) throws {
        guard !records.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO objects (identity, address, kind, size, seen) VALUES (?, ?, ?, ?, ?)")
            for record in records {
                try statement.execute(arguments: [
                    Data(record.identity.digest.bytes), Data(record.address.digest.bytes), Int(record.kind.rawValue), record.size, record.seen,
                ])
            }
        }
    }

    /// Forgets objects (for example after a site reported them missing).
    package func forgetObjects(_ addresses: [ObjectAddress]) throws {
        try database.write { db in
            for address in addresses {
                try db.execute(sql: "DELETE FROM objects WHERE address = ?", arguments: [Data(address.digest.bytes)])
            }
        }
    }

    package func objectCount() throws -> Int {
        try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM objects") ?? 0 }
    }

    // MARK: State

    package func stateValue(_ key: String) throws -> [UInt8]? {
        try database.read { db in try Data.fetchOne(db, sql: "SELECT value FROM state WHERE key = ?", arguments: [key]).map { Array($0) } }
    }

    package func setStateValue(_ key: String, _ value: [UInt8]) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", arguments: [key, Data(value)])
        }
    }

    /// Forgets everything: used when the cache does not match the repository it serves.
    package func reset() throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM objects; DELETE FROM directories; DELETE FROM state;")
        }
    }
}
