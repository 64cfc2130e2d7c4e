import Foundation
import GRDB
import SkiffCore
import Synchronization

/// Where each object of a packed store is: address → (pack, offset, length), with the object's
/// age (stored or last vouched for) and trash mark, in SQLite. A cache of what the packs say:
/// `PackedStore.reindex()` rebuilds it from the packs alone (docs/FORMAT.md §7.1).
///
/// - `packs`: one row per pack file; `live` counts the bytes (records included) that object rows
///   point to, kept by triggers in the same statement that changes a row, so `size - live` is the
///   garbage a repack would reclaim.
/// - `objects`: one row per stored object. A row is only written after the bytes it points to
///   are durable (`PackedStore.flush`). A row written from a put also holds the object's links
///   (`kind`, `children`, and `key`, an id in `session_keys`, which the many objects of one
///   backup share), so seal checks and collections walk the DAG without reading packs; `kind`
///   is NULL where they are not known (rows rebuilt from the packs alone).
///
/// Every verb is one transaction: a vouch and a sweep of the same object are serialised by
/// SQLite, which is what keeps collection safe without a lock (rules G3 and G4).
package final class PackIndex: Sendable {
    let database: any DatabaseWriter

    /// An object's place in a pack, with the pack's name.
    package struct Location: Sendable, Equatable {
        package var pack: Int64
        package var name: PackName
        package var offset: Int
        package var length: Int
    }

    /// A pack's row.
    package struct PackRow: Sendable, Equatable {
        package var id: Int64
        package var name: PackName
        package var size: Int
        package var live: Int
        package var finished: Bool
        package var created: Int
    }

    /// An object written to a pack, waiting for its row.
    package struct NewEntry: Sendable {
        package var entry: PackEntry
        /// Unix seconds of the put.
        package var stored: Int
        /// A verified copy replacing a damaged one: its row replaces the old one.
        package var replacing: Bool
        /// The object's links, when its header was read at the put.
        package var links: ObjectLinks?

        package init(entry: PackEntry, stored: Int, replacing: Bool, links: ObjectLinks? = nil) {
            self.entry = entry
            self.stored = stored
            self.replacing = replacing
            self.links = links
        }
    }

    /// Ids of session key objects in `session_keys`, as written or read so far.
    let sessionKeyIDs = Mutex<[ObjectAddress: Int64]>([:])

    /// Opens (creating if needed) the index at `path`; nil keeps it in memory (tests, and stores
    /// that are themselves in memory).
    package init(path: String?) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "skiff-packs"
        if let path {
            database = try DatabasePool(path: path, configuration: configuration)
        } else {
            database = try DatabaseQueue(configuration: configuration)
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE packs (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    size INTEGER NOT NULL DEFAULT 0,
                    live INTEGER NOT NULL DEFAULT 0,
                    finished INTEGER NOT NULL DEFAULT 0,
                    created INTEGER NOT NULL,
                    retired INTEGER
                );
                CREATE TABLE objects (
                    address BLOB PRIMARY KEY NOT NULL,
                    pack INTEGER NOT NULL,
                    offset INTEGER NOT NULL,
                    length INTEGER NOT NULL,
                    modified INTEGER NOT NULL,
                    trashed INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE TRIGGER objects_added AFTER INSERT ON objects BEGIN
                    UPDATE packs SET live = live + NEW.length + \(PackLayout.recordHeaderSize) WHERE id = NEW.pack;
                END;
                CREATE TRIGGER objects_removed AFTER DELETE ON objects BEGIN
                    UPDATE packs SET live = live - OLD.length - \(PackLayout.recordHeaderSize) WHERE id = OLD.pack;
                END;
                CREATE TRIGGER objects_moved AFTER UPDATE OF pack, length ON objects BEGIN
                    UPDATE packs SET live = live - OLD.length - \(PackLayout.recordHeaderSize) WHERE id = OLD.pack;
                    UPDATE packs SET live = live + NEW.length + \(PackLayout.recordHeaderSize) WHERE id = NEW.pack;
                END;
                """)
        }
        migrator.registerMigration("v2 links") { db in
            try db.execute(sql: """
                CREATE TABLE session_keys (id INTEGER PRIMARY KEY, address BLOB NOT NULL UNIQUE);
                ALTER TABLE objects ADD COLUMN kind INTEGER;
                ALTER TABLE objects ADD COLUMN key INTEGER;
                ALTER TABLE objects ADD COLUMN children BLOB;
                """)
        }
        try migrator.migrate(database)
    }

    // MARK: Packs

    /// Records a new pack (no objects yet) and returns its id.
    package func addPack(_ name: PackName, now: Int) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "INSERT INTO packs (name, created) VALUES (?, ?)", arguments: [name.hex, now])
            return db.lastInsertedRowID
        }
    }

    package func pack(named name: PackName) throws -> PackRow? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM packs WHERE name = ?", arguments: [name.hex]).map(Self.packRow)
        }
    }

    /// Packs with nothing retired, oldest first.
    package func packs() throws -> [PackRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM packs WHERE retired IS NULL ORDER BY id").map(Self.packRow)
        }
    }

    private static func packRow(_ row: Row) -> PackRow {
        PackRow(id: row["id"], name: PackName(hex: row["name"] as String)!, size: row["size"], live: row["live"],
                finished: row["finished"] as Int != 0, created: row["created"])
    }

    /// Packs whose objects were all moved elsewhere before `cutoff` (Unix seconds): their files
    /// may go.
    package func retiredPacks(before cutoff: Int) throws -> [PackRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM packs WHERE retired IS NOT NULL AND retired < ?", arguments: [cutoff]).map(Self.packRow)
        }
    }

    /// Marks a pack finished: no process appends to it any more (a repack may rewrite it).
    package func finish(pack: Int64, size: Int) throws {
        try database.write { db in try Self.record(size: size, finished: true, of: pack, in: db) }
    }

    /// A pack's size grows to `size` (it never shrinks: a late, smaller report changes nothing)
    /// and, once finished, it stays finished.
    private static func record(size: Int, finished: Bool, of pack: Int64, in db: Database) throws {
        try db.execute(sql: "UPDATE packs SET size = MAX(size, ?), finished = MAX(finished, ?) WHERE id = ?",
                       arguments: [size, finished ? 1 : 0, pack])
    }

    /// Marks a pack retired at `now` when no row points into it any more; false otherwise.
    package func retire(pack: Int64, now: Int) throws -> Bool {
        try database.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE pack = ?", arguments: [pack]) == 0 else { return false }
            try db.execute(sql: "UPDATE packs SET retired = ?, live = 0 WHERE id = ?", arguments: [now, pack])
            return true
        }
    }

    /// Forgets a pack whose file is gone.
    package func removePack(_ pack: Int64) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM objects WHERE pack = ?", arguments: [pack])
            try db.execute(sql: "DELETE FROM packs WHERE id = ?", arguments: [pack])
        }
    }

    // MARK: Objects

    /// Where the object is, unless it is absent or (unless asked for) in the trash. The hot path
    /// of every read.
    package func location(of address: ObjectAddress, trashed: Bool = false) throws -> Location? {
        try locations(of: [address], trashed: trashed)[0]
    }

    /// `location(of:)` of many objects in one read, in the order of `addresses`: one cached
    /// statement, outside a transaction (each SELECT is atomic).
    package func locations(of addresses: [ObjectAddress], trashed: Bool = false) throws -> [Location?] {
        try database.unsafeRead { db in
            let statement = try db.cachedStatement(sql: """
                SELECT o.pack, p.name, o.offset, o.length FROM objects o JOIN packs p ON p.id = o.pack
                WHERE o.address = ? AND o.trashed = ?
                """)
            return try addresses.map { address in
                try Row.fetchOne(statement, arguments: [address.blob, trashed ? 1 : 0]).map {
                    Location(pack: $0[0], name: PackName(hex: $0[1] as String)!, offset: $0[2], length: $0[3])
                }
            }
        }
    }

    /// Records objects whose bytes are durable in `pack`, and the pack's durable size. A row for
    /// an address already present is kept (this copy is garbage), unless it is in the trash (an
    /// upload anew wins) or `replacing` is set (a verified copy replaces a damaged one).
    /// Links are written with the row (a row that stays keeps its own).
    package func commit(pack: Int64, size: Int, finished: Bool, entries: [NewEntry]) throws {
        try database.write { db in
            try Self.record(size: size, finished: finished, of: pack, in: db)
            let upsert = try db.makeStatement(sql: """
                INSERT INTO objects (address, pack, offset, length, modified, kind, key, children) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(address) DO UPDATE SET pack = excluded.pack, offset = excluded.offset, length = excluded.length,
                    modified = MAX(objects.modified, excluded.modified), trashed = 0,
                    kind = COALESCE(excluded.kind, objects.kind), key = COALESCE(excluded.key, objects.key),
                    children = COALESCE(excluded.children, objects.children)
                WHERE objects.trashed = 1 OR ?
                """)
            for new in entries {
                let links = new.links
                let key = try links?.sessionKey.map { try sessionKeyID($0, in: db) }
                let children = links.flatMap { $0.children.isEmpty ? nil : Self.packed($0.children) }
                try upsert.execute(arguments: [new.entry.address.blob, pack, new.entry.offset, new.entry.length, new.stored,
                                               links.map { Int($0.kind.rawValue) }, key, children, new.replacing])
            }
        }
    }

    /// Points objects that were copied out of `from` at their new places in `to` (a repack). An
    /// object that meanwhile left `from` (deleted, replaced) is left alone: its copy is garbage.
    package func relocate(_ entries: [PackEntry], from: Int64, to: Int64, size: Int, finished: Bool) throws {
        try database.write { db in
            try Self.record(size: size, finished: finished, of: to, in: db)
            let move = try db.makeStatement(sql: "UPDATE objects SET pack = ?, offset = ? WHERE address = ? AND pack = ?")
            for entry in entries {
                try move.execute(arguments: [to, entry.offset, entry.address.blob, from])
            }
        }
    }

    /// The rows that point into `pack`, by offset.
    package func entries(in pack: Int64) throws -> [PackEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT address, offset, length FROM objects WHERE pack = ? ORDER BY offset", arguments: [pack]).map {
                PackEntry(address: ObjectAddress(blob: $0[0]), offset: $0[1], length: $0[2])
            }
        }
    }

    /// Refreshes the age of each present object (not in the trash) and says which were present.
    package func vouch(_ addresses: [ObjectAddress], now: Int) throws -> [Bool] {
        try database.write { db in
            let statement = try db.makeStatement(sql: "UPDATE objects SET modified = MAX(modified, ?) WHERE address = ? AND trashed = 0")
            return try addresses.map { address in
                try statement.execute(arguments: [now, address.blob])
                return db.changesCount > 0
            }
        }
    }

    /// Sets the age of objects (`skiff` tests and tools that simulate the passing of time; a
    /// collection reads it as any age).
    package func setAge(_ addresses: [ObjectAddress], to modified: Int) throws {
        try database.write { db in
            let statement = try db.makeStatement(sql: "UPDATE objects SET modified = ? WHERE address = ?")
            for address in addresses { try statement.execute(arguments: [modified, address.blob]) }
        }
    }

    /// Age and size of each object, trashed or not as asked; nil where there is none.
    package func ages(_ addresses: [ObjectAddress], trashed: Bool = false) throws -> [(modified: Int, size: Int)?] {
        try database.read { db in
            let statement = try db.makeStatement(sql: "SELECT modified, length FROM objects WHERE address = ? AND trashed = ?")
            return try addresses.map { address in
                try Row.fetchOne(statement, arguments: [address.blob, trashed ? 1 : 0]).map { (modified: $0[0], size: $0[1]) }
            }
        }
    }

    /// Sets or clears the trash mark; false when no row had the other mark.
    package func setTrashed(_ address: ObjectAddress, _ trashed: Bool) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE objects SET trashed = ? WHERE address = ? AND trashed = ?",
                           arguments: [trashed ? 1 : 0, address.blob, trashed ? 0 : 1])
            return db.changesCount > 0
        }
    }

    /// Removes an object's row (trashed or not, as asked): its bytes become garbage.
    package func remove(_ address: ObjectAddress, trashed: Bool? = nil) throws {
        try database.write { db in
            if let trashed {
                try db.execute(sql: "DELETE FROM objects WHERE address = ? AND trashed = ?", arguments: [address.blob, trashed ? 1 : 0])
            } else {
                try db.execute(sql: "DELETE FROM objects WHERE address = ?", arguments: [address.blob])
            }
        }
    }

    package func trashedAddresses() throws -> [ObjectAddress] {
        try database.read { db in
            try Data.fetchAll(db, sql: "SELECT address FROM objects WHERE trashed = 1").map(ObjectAddress.init(blob:))
        }
    }

    /// Deletes the rows of `addresses` not stored or vouched for since `cutoff`, in one
    /// transaction: a vouch either came first (the object is kept) or finds no row.
    package func sweep(_ addresses: [ObjectAddress], olderThan cutoff: Int) throws -> [SweepOutcome] {
        try database.write { db in
            let age = try db.makeStatement(sql: "SELECT modified FROM objects WHERE address = ? AND trashed = 0")
            let delete = try db.makeStatement(sql: "DELETE FROM objects WHERE address = ?")
            return try addresses.map { address in
                guard let modified = try Int.fetchOne(age, arguments: [address.blob]) else { return .absent }
                guard modified < cutoff else { return .putBack }
                try delete.execute(arguments: [address.blob])
                return .deleted
            }
        }
    }

    /// Up to `limit` addresses (not trashed) in `range`, after `after`, in increasing order.
    package func addresses(from low: [UInt8], through high: [UInt8], after: ObjectAddress?, limit: Int) throws -> [ObjectAddress] {
        try database.read { db in
            var lower = low
            var inclusive = true
            if let after, !after.digest.bytes.lexicographicallyPrecedes(low) {
                lower = after.digest.bytes
                inclusive = false
            }
            return try Data.fetchAll(db, sql: """
                SELECT address FROM objects WHERE address \(inclusive ? ">=" : ">") ? AND address <= ? AND trashed = 0
                ORDER BY address LIMIT ?
                """, arguments: [Data(lower), Data(high), limit]).map(ObjectAddress.init(blob:))
        }
    }

    /// Objects and their bytes, and packs and their bytes, for reports.
    package func totals() throws -> (objects: Int, objectBytes: Int, packs: Int, packBytes: Int) {
        try database.read { db in
            let objects = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(length), 0) FROM objects")!
            let packs = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM packs")!
            return (objects[0], objects[1], packs[0], packs[1])
        }
    }

    /// Forgets every pack and object (before rebuilding from the packs).
    package func removeAll() throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM objects; DELETE FROM packs;")
        }
    }
}

extension ObjectAddress {
    /// The address as the index stores it: a 32-byte BLOB.
    var blob: Data { Data(digest.bytes) }

    init(blob: Data) { self.init(Digest256(bytes: blob)) }
}
