import SkiffCore
import SkiffSystem

/// A store that can be garbage-collected and maintained in place, beyond the storage protocol:
/// vouching for objects, their ages, a trash that makes a collection's deletions reversible
/// until final (docs/FORMAT.md §10, rules G1–G5), quarantine and repair. Sites keep their
/// tenants' objects in one, and `skiff prune` collects a local repository through it. The
/// filesystem store and the S3 store implement it.
///
/// The contract that keeps garbage collection safe without a lock, whatever the store:
/// - `vouch` records the vouch *before* it decides presence. A collection moves a value to the
///   trash *before* it reads `trashedAge`. So when `vouch` answers true, either the value was not
///   in the trash yet at that moment, or the collection's later `trashedAge` sees the vouch and
///   the value is put back.
/// - `age` and `trashedAge` report the later of "stored" and "last vouched for".
package protocol CollectableStore: ObjectStore {
    /// True when several site processes may share the store (an S3 bucket): the site then reads
    /// seal heads from the store rather than trusting its own index.
    var isShared: Bool { get }

    /// Vouches for a value now (a host was or will be told it is present). Returns false, changing
    /// nothing that matters, when the key holds nothing: the caller must treat it as missing.
    func vouch(_ key: StoreKey) async throws -> Bool

    /// `vouch` of many keys, answers in the order of `keys`. The default runs `vouch` in lanes
    /// on a shared store (two requests each) and one by one otherwise.
    func vouch(_ keys: [StoreKey]) async throws -> [Bool]

    /// When the value was stored or last vouched for (Unix seconds) and its size, or nil.
    func age(_ key: StoreKey) async throws -> (modified: Int, size: Int)?

    /// Moves a value into the trash, where readers and listings of its folder no longer see it.
    /// Returns false when the key held nothing.
    func moveToTrash(_ key: StoreKey) async throws -> Bool

    /// When the trashed value was stored or last vouched for, also after the move, and its size;
    /// nil when it is not in the trash.
    func trashedAge(_ key: StoreKey) async throws -> (modified: Int, size: Int)?

    /// Puts a trashed value back under its key. Idempotent; a value uploaded anew meanwhile (the
    /// same bytes: keys are content addresses) wins and the trashed copy is dropped.
    func restoreFromTrash(_ key: StoreKey) async throws

    /// Deletes a trashed value for good. Idempotent.
    func emptyTrash(_ key: StoreKey) async throws

    /// The bytes (or `byteRange` of them) of a value in the trash.
    /// - Throws: `StoreError.notFound` when it is not in the trash.
    func getTrashed(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8]

    /// Keys of the objects in the trash (left there by a collection that did not finish).
    func trashedObjectKeys() async throws -> [StoreKey]

    /// `age` of many values, in the order of `keys` (nil where a key holds nothing). Stores read
    /// them several at a time; the default runs `age` in lanes.
    func ages(of keys: [StoreKey]) async throws -> [(modified: Int, size: Int)?]

    /// Deletes, by way of the trash, the values of `keys` that nobody stored or vouched for since
    /// `cutoff` (Unix seconds): each is moved to the trash, its `trashedAge` read there, and then
    /// emptied from the trash, or put back when a vouch made it younger than `cutoff`. Outcomes in
    /// the order of `keys`. Idempotent; an error leaves some values in the trash, which the next
    /// collection puts back first. The default runs the single-key steps in lanes.
    func sweep(_ keys: [StoreKey], olderThan cutoff: Int) async throws -> [SweepOutcome]

    /// Drops vouch records older than `cutoff` (Unix seconds), which protect nothing any more.
    func forgetVouches(olderThan cutoff: Int) async throws

    /// Writes (or refreshes) the vouch record of `key` without looking at the value: for a
    /// shared store whose objects live in packs, which checks presence itself after (§11, S14).
    /// The default does nothing (a store only one process uses needs no records).
    func recordVouch(_ key: StoreKey) async throws

    /// When the vouch record of `key` was last written (Unix seconds), or nil (also for stores
    /// that keep none).
    func vouchRecordAge(_ key: StoreKey) async throws -> Int?

    /// Moves a damaged value aside (kept for inspection, never served). False when it was gone.
    func quarantine(_ key: StoreKey) async throws -> Bool

    /// Replaces a value whose stored copy is damaged with verified bytes (the one overwrite).
    func replaceDamaged(_ key: StoreKey, _ bytes: [UInt8]) async throws

    /// Removes what interrupted writes left behind (temporary files, unfinished uploads).
    func removeStaleLeftovers() async throws

    /// Reclaims the space of deleted values after a collection swept: a store that keeps
    /// objects in packs rewrites the packs whose garbage passes its threshold (and merges small
    /// ones), then deletes the old packs. Safe while values are put and read; idempotent; a
    /// killed run leaves garbage, never loses a value. The default has nothing to do.
    func compact(keepingVouchedSince cutoff: Int) async throws -> CompactionReport

    /// Makes puts durable that have waited long enough, without waiting for the next `flush`: a
    /// store that batches puts (packs) flushes once puts paused for a second or the oldest has
    /// waited ten. Sites call it every second, so what a crash can lose of an upload is bounded
    /// even before its seal arrives. The default does nothing.
    func settle() async throws

    /// Learns what other processes sharing the store wrote since the last look (a packed store
    /// on a bucket indexes the packs they put, S13). Collections call it before they
    /// mark. The default has nothing to learn.
    func catchUp() async throws

    /// The whole value under `key`, read into memory of the caller's choosing: `make(count, fill)`
    /// must create a buffer with room for at least `count` bytes, call `fill` once with that room
    /// (it writes at most `count` bytes from the start and returns how many: `count` unless the
    /// value shrank under it) and return the buffer. A site answering a fetch reads straight
    /// into the buffers it sends; the default reads the bytes with `get` and copies them in.
    /// - Throws: `StoreError.notFound` when nothing is stored under `key`; what `make` throws.
    func read<Buffer: Sendable>(_ key: StoreKey, into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer

    /// The whole values of `keys`, read in the order the store reads fastest and handed to
    /// `deliver` a span at a time: one buffer made by `make` (as for `read(_:into:)`) and the
    /// values in it. A store of packs reads neighbouring objects of a pack as one range, pack by
    /// pack, one span ahead of `deliver`; the default reads value by value. Each key is
    /// delivered at most once (a key asked twice may be delivered once). `deliver` returning
    /// false stops the reading (a site's answer is full). Cancellation stops it too.
    /// - Returns: the positions of the keys that hold nothing (those met before a stop).
    func readSpans<Buffer: Sendable>(_ keys: [StoreKey], into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer,
                                     deliver: (ReadSpan<Buffer>) async throws -> Bool) async throws -> [Int]
}

/// `bytes` copied into a buffer made by `make` (the contract of `CollectableStore.read(_:into:)`),
/// for stores that hold the bytes already.
package func copy<Buffer>(_ bytes: [UInt8], into make: (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) rethrows -> Buffer {
    try make(bytes.count) { room in
        room.copyBytes(from: bytes)
        return bytes.count
    }
}

/// What `CollectableStore.sweep` did with one key.
package enum SweepOutcome: Sendable, Equatable {
    /// The key held nothing (deleted or trashed meanwhile).
    case absent
    /// A vouch made the value younger than the cutoff after all: it was put back.
    case putBack
    /// The value is gone for good.
    case deleted
}

extension CollectableStore {
    /// Round trips in flight at once for the default batch operations.
    package static var sweepLanes: Int { 16 }

    package func read<Buffer: Sendable>(_ key: StoreKey, into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        try copy(try await get(key, byteRange: nil), into: make)
    }

    package func readSpans<Buffer: Sendable>(_ keys: [StoreKey], into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer,
                                             deliver: (ReadSpan<Buffer>) async throws -> Bool) async throws -> [Int] {
        try await readSpansOneByOne(keys, at: keys.indices, into: make, deliver: deliver).absent
    }

    /// `readSpans` of the keys at `positions`, value by value with `read(_:into:)`, one span
    /// each: the default, and what a store of packs reads outside its planned runs. Returns the
    /// positions that hold nothing, and whether `deliver` stopped the reading.
    package func readSpansOneByOne<Buffer: Sendable>(_ keys: [StoreKey], at positions: some Sequence<Int>,
                                                     into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer,
                                                     deliver: (ReadSpan<Buffer>) async throws -> Bool) async throws -> (absent: [Int], stopped: Bool) {
        var absent: [Int] = []
        for position in positions {
            try Task.checkCancellation()
            let filled = FilledBytes()
            let buffer: Buffer
            do { buffer = try await read(keys[position], into: filled.counting(make)) } catch StoreError.notFound {
                absent.append(position)
                continue
            }
            guard try await deliver(ReadSpan(buffer: buffer, values: [(position, 0..<filled.count)])) else { return (absent, true) }
        }
        return (absent, false)
    }

    package func ages(of keys: [StoreKey]) async throws -> [(modified: Int, size: Int)?] {
        try await concurrentMap(keys, lanes: Self.sweepLanes) { try await self.age($0) }
    }

    package func vouch(_ keys: [StoreKey]) async throws -> [Bool] {
        try await concurrentMap(keys, lanes: isShared ? Self.sweepLanes : 1) { try await self.vouch($0) }
    }

    package func compact(keepingVouchedSince cutoff: Int) async throws -> CompactionReport { CompactionReport() }

    package func catchUp() async throws {}

    package func settle() async throws {}

    package func recordVouch(_ key: StoreKey) async throws {}

    package func vouchRecordAge(_ key: StoreKey) async throws -> Int? { nil }

    package func sweep(_ keys: [StoreKey], olderThan cutoff: Int) async throws -> [SweepOutcome] {
        try await concurrentMap(keys, lanes: Self.sweepLanes) { key in
            guard try await self.moveToTrash(key) else { return .absent }
            if let (modified, _) = try await self.trashedAge(key), modified >= cutoff {
                try await self.restoreFromTrash(key)
                return .putBack
            }
            try await self.emptyTrash(key)
            return .deleted
        }
    }
}

/// Where a site keeps each tenant's store: `<data>/tenants/<tenant id>/` on the filesystem, or
/// `<prefix>/tenants/<tenant id>/` in a bucket.
package protocol TenantStores: Sendable {
    /// The tenant's store; the same instance on every call.
    func store(for tenant: TenantID) throws -> any CollectableStore
    /// The tenants that have a store here (for rebuilding a lost registry from the stores).
    func tenantIDs() async throws -> [TenantID]
    /// Closes network connections, if any. Call once, when the site stops.
    func shutdown() async
}
