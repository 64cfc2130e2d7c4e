import Foundation
import GRDB
import SkiffCore
import SkiffStorage
import SkiffSystem
import Synchronization

/// One thing to deliver to every site, in order.
package struct OutboxEntry: Sendable, Equatable {
    package enum Payload: Sendable, Equatable {
        case object(ObjectAddress, size: Int)
        case seal(Seal)
    }

    package var sequence: Int64
    package var payload: Payload
    /// When it was appended (Unix seconds), for lag.
    package var created: Double

    package var size: Int {
        switch payload {
        case .object(_, let size): return size
        case .seal(let seal): return seal.encoded.count
        }
    }
}

/// Where one site is in the outbox.
package struct SiteCursor: Sendable, Equatable, Codable {
    package var site: String
    /// Every entry with a sequence up to this one was delivered and acknowledged.
    package var deliveredThrough: Int64
    package var lastSealSequence: UInt64?
    package var lastSealHash: String?
    /// Seal time (Unix seconds) of the newest seal the site accepted.
    package var lastSealTime: Double?
    package var lastSuccess: Double?
    package var lastError: String?
}

/// The host's durable backlog: everything it must deliver to its sites, in one ordered log,
/// with one cursor per site.
///
/// - Objects are written once to a local spool (`OutboxSpool`: records appended to segment
///   files) and their entries, with where they lie, to SQLite; every site is fed from the same
///   log, so data is chunked, compressed and encrypted once whatever the number of sites.
/// - `commit()` is the durability point: the spool is synced and the appended entries are
///   written in one transaction. After a crash or reboot every committed entry is delivered.
/// - A site that is down only makes its backlog longer. Entries are removed once every site
///   has them and they are older than `keepDelivered`: a site that loses what it acknowledged
///   (restored from an old copy of its data) gets it again from here for that long (docs/
///   PROTOCOL.md, "Recovery"). Every seal the host made is kept for good (a few hundred bytes
///   each), so the host can always re-deliver its chain.
package final class Outbox: Sendable {
    package let folder: RawPath
    package let sites: [String]
    let database: DatabasePool
    let spool: OutboxSpool
    /// The one-file-per-object spool of outboxes written before segments, read until drained.
    let legacySpool: FileSystemStore?
    let state: Mutex<State>
    /// Wakes waiters when entries or acknowledgements change (`noteChange`).
    let changed = AsyncBroadcast()
    /// Counts appends and acknowledgements: readers that derive figures from the outbox
    /// (the agent's recovery-point gauges) recompute them only when it moved.
    package let revision = Atomic<Int>(0)
    let durabilityObservers = Mutex<[@Sendable (DurabilitySample) -> Void]>([])

    struct State {
        var nextSequence: Int64
        var pending: [OutboxEntry] = []
        /// Where the pending objects lie in the spool.
        var locations: [ObjectAddress: SpoolLocation] = [:]
        var queued: Set<ObjectAddress> = []
        /// Recently appended bytes, so that senders that keep up never read the spool.
        var recent: [ObjectAddress: [UInt8]] = [:]
        var recentOrder: [ObjectAddress] = []
        var recentBytes = 0
    }

    /// Bytes of recent objects kept in memory for senders: most of a second of new data at
    /// 20 MB/s. Older ones come from the spool (usually still in the page cache).
    static let recentLimit = 16 << 20

    package init(folder: RawPath, sites: [String]) throws {
        self.folder = folder
        self.sites = sites
        try FileIO.makeDirectories(folder, mode: 0o700)
        spool = try OutboxSpool(folder: folder.appending("segments"))
        legacySpool = try? FileSystemStore(root: folder.appending("spool"))
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try DatabasePool(path: folder.appending("outbox.sqlite").description, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE entries (
                    sequence INTEGER PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    address BLOB,
                    size INTEGER NOT NULL,
                    seal BLOB,
                    created REAL NOT NULL
                );
                CREATE INDEX entries_by_address ON entries (address);
                CREATE TABLE cursors (
                    site TEXT PRIMARY KEY NOT NULL,
                    delivered_through INTEGER NOT NULL,
                    last_seal_sequence INTEGER,
                    last_seal_hash BLOB,
                    last_seal_time REAL,
                    last_success REAL,
                    last_error TEXT
                );
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                """)
        }
        migrator.registerMigration("v2-seal-history") { db in
            try db.execute(sql: """
                CREATE TABLE seal_history (
                    sequence INTEGER PRIMARY KEY,
                    hash BLOB NOT NULL,
                    seal BLOB NOT NULL
                );
                """)
            var known: [Data] = try Data.fetchAll(db, sql: "SELECT seal FROM entries WHERE kind = 2")
            if let last = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'last-seal'") { known.append(last) }
            for bytes in known {
                guard let seal = try? Seal.decode(Array(bytes)) else { continue }
                try db.execute(sql: "INSERT OR IGNORE INTO seal_history (sequence, hash, seal) VALUES (?, ?, ?)",
                               arguments: [Int64(seal.sequence), Data(seal.hash.bytes), bytes])
            }
        }
        migrator.registerMigration("v3-recovery-point") { db in
            try db.execute(sql: """
                ALTER TABLE seal_history ADD COLUMN changed_at REAL;
                CREATE TABLE seal_durability (
                    sequence INTEGER NOT NULL,
                    site TEXT NOT NULL,
                    changed_at REAL NOT NULL,
                    durable_at REAL NOT NULL,
                    PRIMARY KEY (sequence, site)
                );
                CREATE INDEX seal_durability_by_time ON seal_durability (durable_at);
                """)
        }
        migrator.registerMigration("v4-spool-segments") { db in
            try db.execute(sql: """
                ALTER TABLE entries ADD COLUMN segment INTEGER;
                ALTER TABLE entries ADD COLUMN offset INTEGER;
                """)
        }
        migrator.registerMigration("v5-entries-by-segment") { db in
            try db.execute(sql: "CREATE INDEX entries_by_segment ON entries (segment)")
        }
        try migrator.migrate(database)
        try legacySpool?.removeStaleTemporaryFiles()
        let (next, queued) = try database.write { db -> (Int64, Set<ObjectAddress>) in
            let maxEntry = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM entries") ?? 0
            let maxCursor = try Int64.fetchOne(db, sql: "SELECT MAX(delivered_through) FROM cursors") ?? 0
            for site in sites {
                try db.execute(sql: "INSERT OR IGNORE INTO cursors (site, delivered_through) VALUES (?, ?)",
                               arguments: [site, try Int64.fetchOne(db, sql: "SELECT MIN(sequence) - 1 FROM entries") ?? maxCursor])
            }
            let addresses = try Data.fetchAll(db, sql: "SELECT address FROM entries WHERE kind = 1")
            return (max(maxEntry, maxCursor) + 1, Set(addresses.map { ObjectAddress(Digest256(bytes: $0)) }))
        }
        state = Mutex(State(nextSequence: next, queued: queued))
    }

    func noteChange() {
        revision.add(1, ordering: .relaxed)
        changed.signal()
    }

    // MARK: Appending

    /// Queues an object for every site. Returns false when it is already queued.
    /// Durable only after `commit()`.
    package func append(_ object: EncodedObject) async throws -> Bool {
        if state.withLock({ $0.queued.contains(object.address) }) { return false }
        let location = try spool.append(object.address, object.bytes)
        let added = state.withLock { state -> Bool in
            guard state.queued.insert(object.address).inserted else { return false }
            state.locations[object.address] = location
            state.pending.append(OutboxEntry(sequence: state.nextSequence, payload: .object(object.address, size: object.bytes.count),
                                             created: Date().timeIntervalSince1970))
            state.nextSequence += 1
            state.recent[object.address] = object.bytes
            state.recentOrder.append(object.address)
            state.recentBytes += object.bytes.count
            while state.recentBytes > Self.recentLimit, !state.recentOrder.isEmpty {
                let oldest = state.recentOrder.removeFirst()
                state.recentBytes -= state.recent.removeValue(forKey: oldest)?.count ?? 0
            }
            return true
        }
        if added { noteChange() }
        return added
    }

    /// Makes every appended object durable: syncs the spool, then writes their entries.
    /// Objects appended while it runs wait for the next commit.
    package func commit() async throws {
        let (pending, locations) = state.withLock { ($0.pending, $0.locations) }
        guard !pending.isEmpty else { return }
        try await BlockingWork.run { [spool] in try spool.sync() }
        try await database.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO entries (sequence, kind, address, size, created, segment, offset) VALUES (?, 1, ?, ?, ?, ?, ?)")
            for entry in pending {
                guard case .object(let address, let size) = entry.payload, let location = locations[address] else { continue }
                try statement.execute(arguments: [entry.sequence, Data(address.digest.bytes), size, entry.created, Int64(location.segment), location.offset])
            }
        }
        state.withLock { state in
            state.pending.removeFirst(min(pending.count, state.pending.count))
            for entry in pending { if case .object(let address, _) = entry.payload { state.locations[address] = nil } }
        }
    }

    /// Commits pending objects, then appends `seal` durably after them. `changesSince` (Unix
    /// seconds) is when the oldest change the seal answers was seen, if it answers changes: each
    /// site's acknowledgement of the seal then yields a `DurabilitySample`.
    package func append(_ seal: Seal, changesSince: Double? = nil) async throws -> OutboxEntry {
        try await commit()
        let entry = state.withLock { state -> OutboxEntry in
            defer { state.nextSequence += 1 }
            return OutboxEntry(sequence: state.nextSequence, payload: .seal(seal), created: Date().timeIntervalSince1970)
        }
        try await database.write { db in
            try db.execute(sql: "INSERT INTO entries (sequence, kind, size, seal, created) VALUES (?, 2, ?, ?, ?)",
                           arguments: [entry.sequence, seal.encoded.count, Data(seal.encoded), entry.created])
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('last-seal', ?)", arguments: [Data(seal.encoded)])
            try db.execute(sql: "INSERT OR IGNORE INTO seal_history (sequence, hash, seal, changed_at) VALUES (?, ?, ?, ?)",
                           arguments: [Int64(seal.sequence), Data(seal.hash.bytes), Data(seal.encoded), changesSince])
        }
        noteChange()
        return entry
    }

    /// The host's seals with sequence numbers in `range`, in order (every seal it ever made is
    /// kept).
    package func seals(_ range: ClosedRange<UInt64>) throws -> [Seal] {
        try database.read { db in
            try Data.fetchAll(db, sql: "SELECT seal FROM seal_history WHERE sequence BETWEEN ? AND ? ORDER BY sequence",
                              arguments: [Int64(clamping: range.lowerBound), Int64(clamping: range.upperBound)])
        }.map { try Seal.decode(Array($0)) }
    }

    /// The newest seal this host appended, if any (survives restarts).
    package func lastSeal() throws -> Seal? {
        try database.read { db in try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'last-seal'") }.map { try Seal.decode(Array($0)) }
    }

    // MARK: Delivering

    /// Up to `limit` entries after `sequence`, committed ones first, then pending ones.
    package func entries(after sequence: Int64, limit: Int) throws -> [OutboxEntry] {
        var result = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM entries WHERE sequence > ? ORDER BY sequence LIMIT ?", arguments: [sequence, limit]).map(Self.entry)
        }
        if result.count < limit {
            let after = result.last?.sequence ?? sequence
            let pending = state.withLock { $0.pending }
            result += pending.filter { $0.sequence > after }.prefix(limit - result.count)
        }
        return result
    }

    private static func entry(_ row: Row) throws -> OutboxEntry {
        let kind: Int = row["kind"]
        let payload: OutboxEntry.Payload
        if kind == 1 {
            payload = .object(ObjectAddress(Digest256(bytes: row["address"] as Data)), size: row["size"])
        } else {
            payload = .seal(try Seal.decode(Array(row["seal"] as Data)))
        }
        return OutboxEntry(sequence: row["sequence"], payload: payload, created: row["created"])
    }

    /// Waits until an entry after `sequence` exists (or the task is cancelled).
    package func waitForEntries(after sequence: Int64) async {
        while !Task.isCancelled {
            let ticket = changed.ticket()
            if let last = try? entries(after: sequence, limit: 1), !last.isEmpty { return }
            await changed.wait(ticket)
        }
    }

    /// The sequence of the newest entry, committed or pending (0 when empty).
    package func newestSequence() throws -> Int64 {
        let committed = try database.read { try Int64.fetchOne($0, sql: "SELECT MAX(sequence) FROM entries") } ?? 0
        return max(committed, state.withLock { $0.pending.last?.sequence ?? 0 })
    }

    /// How long entries every site acknowledged are kept (objects in the spool) for a site
    /// that loses them again.
    package static let keepDelivered: Double = 24 * 3600

    /// Removes entries every site has that are older than `keepDelivered`, and their spool
    /// files; forgets recovery-point samples older than that.
    package func collectGarbage(now: Double = Date().timeIntervalSince1970) async throws {
        let minimum = try sites.map { try cursor($0).deliveredThrough }.min() ?? 0
        let cutoff = now - Self.keepDelivered
        let due = try await database.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM entries WHERE sequence <= ? AND created < ?)
                    OR EXISTS (SELECT 1 FROM seal_durability WHERE durable_at < ?)
                """, arguments: [minimum, cutoff, cutoff]) ?? false
        }
        guard due else { return }  // an idle agent runs this every 2 s: no write transaction then
        let removed = try await database.write { db -> [ObjectAddress] in
            let addresses = try Data.fetchAll(db, sql: "SELECT address FROM entries WHERE kind = 1 AND sequence <= ? AND created < ?",
                                              arguments: [minimum, cutoff])
            try db.execute(sql: "DELETE FROM entries WHERE sequence <= ? AND created < ?", arguments: [minimum, cutoff])
            try db.execute(sql: "DELETE FROM seal_durability WHERE durable_at < ?", arguments: [cutoff])
            return addresses.map { ObjectAddress(Digest256(bytes: $0)) }
        }
        guard !removed.isEmpty else { return }  // no object went, so no segment emptied
        // Entries go oldest first, so the segments still needed start at the lowest one an
        // entry or a pending object lies in (one index lookup, not a scan of the entries).
        let committed = try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(segment) FROM entries").map { UInt32(truncatingIfNeeded: $0) }
        }
        let pending = state.withLock { $0.locations.values.map(\.segment).min() }
        try spool.removeSegments(below: [committed, pending].compactMap { $0 }.min() ?? .max)
        if let legacySpool {
            for address in removed { try await legacySpool.delete(.object(address)) }
        }
        state.withLock { state in
            for address in removed {
                state.queued.remove(address)
                if let bytes = state.recent.removeValue(forKey: address) { state.recentBytes -= bytes.count }
            }
            if !removed.isEmpty { state.recentOrder.removeAll { state.recent[$0] == nil } }
        }
    }
}
