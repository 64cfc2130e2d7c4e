import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// A store that keeps objects in pack files (docs/FORMAT.md §7.1) and everything else (seals,
/// config, chain claims, registry records) in an inner store, one value per key as before.
///
/// - `put` of an object appends one record to the open pack; the pack is finished (trailer
///   written, made durable) before a record would take it past `targetPackSize`.
/// - `flush` makes every appended record durable first (fdatasync of the open pack file, or a
///   PUT of the pack on a bucket), then writes the index rows that point to them in one SQLite
///   transaction, then flushes the inner store. So an index row never points at bytes that a
///   crash can lose, and a seal written after `flush` reaches only durable objects.
/// - Reads look an object up in the index (or among the records not yet flushed) and read its
///   range of the pack. A read that finds its pack gone (a repack moved the object meanwhile)
///   looks it up again once.
/// - Object keys never reach the inner store; the inner store's `packs/` and `index/` folders
///   are hidden from listings.
///
/// `@unchecked Sendable` is not needed: stored properties are immutable, `Sendable`, or `Mutex`es.
package final class PackedStore: ObjectStore {
    package let inner: any CollectableStore
    package let shelf: any PackShelf
    package let index: PackIndex
    /// A pack is finished once it holds this many bytes.
    package let targetPackSize: Int
    /// 32 MiB: 32 packs per GiB (the target is at most 64 files or keys per GiB), one PUT per
    /// 32 MiB on a bucket, a repack that rewrites at most 32 MiB per pack; between restic's
    /// 16 MiB and Kopia's 20–40 MiB.
    package static let defaultTargetPackSize = 32 << 20

    /// The pack being appended to, and the records whose index rows are not written yet.
    struct OpenPack: Sendable {
        let appender: any PackAppender
        let id: Int64
        /// Every record of the pack, for its trailer.
        var entries: [PackEntry] = []
        /// Records appended since the last flush.
        var uncommitted: [PackIndex.NewEntry] = []
    }

    /// A record whose index row is not written yet, readable through its appender.
    struct PendingRecord: Sendable {
        let appender: any PackAppender
        let entry: PackEntry
        let stored: Int
        /// Read from the object's header at the put; nil when it did not parse.
        let links: ObjectLinks?
    }

    struct WriterState: Sendable {
        var open: OpenPack?
        var pending: [ObjectAddress: PendingRecord] = [:]
        /// When the last record was appended, and when the oldest record not flushed was.
        var lastAppend: ContinuousClock.Instant?
        var oldestPending: ContinuousClock.Instant?
    }

    let writer = Mutex(WriterState())
    /// Shared stores: one look for new packs at a time, and the newest start time seen (S13).
    let discovering = AsyncSemaphore(permits: 1)
    let discoveryCursor = Mutex(0)
    let lastDiscovery = Mutex<ContinuousClock.Instant?>(nil)
    /// One flush (or pack finish) at a time, so an appender is never synced while it is finished.
    let finishing = AsyncSemaphore(permits: 1)

    /// Unix seconds, for ages (tests set the time).
    let clock: @Sendable () -> Int

    package init(inner: any CollectableStore, shelf: any PackShelf, index: PackIndex, targetPackSize: Int = defaultTargetPackSize,
                 clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) {
        precondition(targetPackSize >= 1 << 16)
        self.clock = clock
        self.inner = inner
        self.shelf = shelf
        self.index = index
        self.targetPackSize = targetPackSize
    }

    /// Set while the index is new and not yet rebuilt from the packs: every verb first runs
    /// `ensureIndexed()`.
    let rebuildPending = Atomic<Bool>(false)
    let rebuilding = AsyncSemaphore(permits: 1)

    /// A packed store in a folder: packs under `packs/`, the index in `index/packs.sqlite`, the
    /// other keys as files. When the index file is missing (a new folder, or an index that was
    /// lost) the store rebuilds it from the packs before it serves its first verb.
    package convenience init(folder: FileSystemStore, targetPackSize: Int = defaultTargetPackSize,
                             clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) throws {
        try self.init(inner: folder, shelf: FilePackShelf(root: folder.root), indexFile: PackedStore.indexFile(in: folder.root),
                      targetPackSize: targetPackSize, clock: clock)
    }

    /// Where a folder store keeps its pack index: `index/packs.sqlite`.
    package static func indexFile(in root: RawPath) -> RawPath { root.appending("index").appending("packs.sqlite") }

    /// A packed store whose index is the file `indexFile` (created with its folder when missing,
    /// and then rebuilt from the shelf's packs as `init(folder:)` says).
    package convenience init(inner: any CollectableStore, shelf: any PackShelf, indexFile: RawPath, targetPackSize: Int = defaultTargetPackSize,
                             clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) throws {
        let rebuild = !FileIO.exists(indexFile)
        do { try FileIO.makeDirectories(indexFile.parent, mode: 0o700) } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: indexFile.description)
        }
        self.init(inner: inner, shelf: shelf, index: try PackIndex(path: indexFile.description), targetPackSize: targetPackSize, clock: clock)
        rebuildPending.store(rebuild, ordering: .relaxed)
    }

    /// `init(folder:)`, then the index rebuilt from the packs when it was missing.
    package static func open(folder: FileSystemStore, targetPackSize: Int = defaultTargetPackSize) async throws -> PackedStore {
        let store = try PackedStore(folder: folder, targetPackSize: targetPackSize)
        try await store.ensureIndexed()
        return store
    }

    /// Rebuilds the index from the packs, once, when it was created empty beside existing packs.
    /// Every verb runs it first; after the first time it is one atomic load.
    func ensureIndexed() async throws {
        guard rebuildPending.load(ordering: .acquiring) else { return }
        await rebuilding.acquire()
        defer { rebuilding.release() }
        guard rebuildPending.load(ordering: .acquiring) else { return }
        if try await !shelf.names(startedSince: 0).isEmpty { _ = try await rebuildIndex() }
        rebuildPending.store(false, ordering: .releasing)
    }

    /// Folders of the inner store that belong to the packing and are never listed as keys.
    static let reservedPrefixes = ["packs/", "index/", "vouches/", "trash/"]

    // MARK: ObjectStore

    package func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.put(key, bytes) }
        guard bytes.count <= ObjectHeader.maxObjectSize else { throw StoreError.io("\(key): \(bytes.count) bytes is over the object limit") }
        // A record not flushed yet is found under the writer's lock in `append`: taking the lock
        // here too doubled its traffic (3.6 % of a site's CPU waited on it while receiving).
        if try index.location(of: address) != nil { return .alreadyPresent }
        return try await append(address, bytes, replacing: false)
    }

    /// Appends a record to the open pack (creating one when none is open). A pack is finished
    /// before a record would take it, trailer included, past its target size (so a 32 MiB pack
    /// is exactly two read windows of a bucket), and after a record that alone fills it.
    func append(_ address: ObjectAddress, _ bytes: [UInt8], replacing: Bool) async throws -> PutOutcome {
        let now = clock()
        let links = ObjectLinks(stored: bytes)
        let (outcome, full): (PutOutcome, [OpenPack]) = try writer.withLock { state in
            if !replacing, state.pending[address] != nil { return (.alreadyPresent, []) }
            var full: [OpenPack] = []
            if let open = state.open, !open.entries.isEmpty,
               open.appender.size + PackLayout.recordHeaderSize + bytes.count + Self.trailerSize(entries: open.entries.count + 1) > targetPackSize {
                full.append(open)
                state.open = nil
            }
            if state.open == nil {
                let (appender, id) = try startPack()
                state.open = OpenPack(appender: appender, id: id)
            }
            let entry = try bytes.withUnsafeBytes { try state.open!.appender.appendRecord(address, $0) }
            state.open!.entries.append(entry)
            state.open!.uncommitted.append(PackIndex.NewEntry(entry: entry, stored: now, replacing: replacing, links: links))
            state.pending[address] = PendingRecord(appender: state.open!.appender, entry: entry, stored: now, links: links)
            let instant = ContinuousClock.now
            state.lastAppend = instant
            if state.oldestPending == nil { state.oldestPending = instant }
            if state.open!.appender.size + Self.trailerSize(entries: state.open!.entries.count) >= targetPackSize {
                full.append(state.open!)
                state.open = nil
            }
            return (.stored, full)
        }
        if !full.isEmpty {
            await finishing.acquire()
            defer { finishing.release() }
            for pack in full { try await finish(pack) }
        }
        return outcome
    }

    /// The bytes of the trailer of a pack of `entries` records.
    static func trailerSize(entries: Int) -> Int { entries * PackLayout.entrySize + PackLayout.footerSize }

    /// A new, empty pack on the shelf and its row in the index.
    func startPack() throws -> (appender: any PackAppender, id: Int64) {
        let name = PackName.new(startedAt: clock())
        let appender = try shelf.create(name)
        return (appender, try index.addPack(name, now: clock()))
    }

    /// Writes a full pack's trailer, makes it durable and writes its rows. The caller holds
    /// `finishing`.
    func finish(_ pack: OpenPack) async throws {
        try await pack.appender.finish(entries: pack.entries)
        try index.commit(pack: pack.id, size: pack.appender.size, finished: true, entries: pack.uncommitted)
        forgetPending(pack.uncommitted)
    }

    func forgetPending(_ entries: [PackIndex.NewEntry]) {
        writer.withLock { state in
            for new in entries where state.pending[new.entry.address]?.entry == new.entry {
                state.pending[new.entry.address] = nil
            }
        }
    }

    package func flush() async throws {
        try await ensureIndexed()
        await finishing.acquire()
        defer { finishing.release() }
        let taken: (pack: OpenPack, whole: Bool)? = writer.withLock { state in
            state.oldestPending = nil
            guard let open = state.open, !open.uncommitted.isEmpty else { return nil }
            if shelf.appendsAfterSync && open.appender.size < targetPackSize {
                state.open!.uncommitted = []
                return (open, false)
            }
            state.open = nil
            return (open, true)
        }
        if let (pack, whole) = taken {
            if whole {
                try await finish(pack)
            } else {
                let size = pack.appender.size
                do { try await pack.appender.sync() } catch {
                    // The rows were not written: put them back for the next flush.
                    writer.withLock { state in
                        if state.open?.id == pack.id { state.open!.uncommitted.insert(contentsOf: pack.uncommitted, at: 0) }
                    }
                    throw error
                }
                try index.commit(pack: pack.id, size: size, finished: false, entries: pack.uncommitted)
                forgetPending(pack.uncommitted)
            }
        }
        try await inner.flush()
    }

    /// Where an object's bytes are: among the records not flushed yet, or in the index.
    enum Place {
        case pending(PendingRecord)
        case indexed(PackIndex.Location)

        var length: Int {
            switch self {
            case .pending(let record): record.entry.length
            case .indexed(let location): location.length
            }
        }
    }

    func place(of address: ObjectAddress) throws -> Place? {
        if let record = writer.withLock({ $0.pending[address] }) { return .pending(record) }
        return try index.location(of: address).map { .indexed($0) }
    }

    /// Reads `range` (inside the object) of an object's bytes at `place`; nil when the pack is
    /// gone (moved by a repack: look again).
    func readRange(_ place: Place, _ range: Range<Int>) async throws -> [UInt8]? {
        switch place {
        case .pending(let record):
            let packRange = (record.entry.offset + range.lowerBound)..<(record.entry.offset + range.upperBound)
            if let bytes = record.appender.pendingBytes(packRange) { return bytes }
            return try await readPack(record.appender.name, packRange)
        case .indexed(let location):
            return try await readPack(location.name, (location.offset + range.lowerBound)..<(location.offset + range.upperBound))
        }
    }

    private func readPack(_ name: PackName, _ range: Range<Int>) async throws -> [UInt8]? {
        do { return try await shelf.read(name, range: range) } catch StoreError.notFound { return nil }
    }

    /// Runs `read` on the object's place, looking once more when its pack vanished under it (a
    /// repack moved the object). A shared store that misses the object, or finds its pack gone,
    /// first learns of the packs other processes put (S13).
    func withPlace<T>(_ key: StoreKey, _ address: ObjectAddress, _ read: (Place) async throws -> T?) async throws -> T {
        var discovered = false
        for _ in 0..<3 {
            if let place = try place(of: address) {
                if let result = try await read(place) { return result }
                if isShared, case .indexed(let location) = place { try index.removePack(location.pack) }
            } else if !isShared || discovered {
                throw StoreError.notFound(key)
            }
            if isShared, !discovered {
                try await discoverPacks()
                discovered = true
            }
        }
        throw StoreError.notFound(key)
    }

    package func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.get(key, byteRange: byteRange) }
        return try await withPlace(key, address) { place in
            let range = (byteRange ?? 0..<Int.max).clamped(to: 0..<place.length)
            guard !range.isEmpty else { return [] }
            return try await readRange(place, range)
        }
    }

    package func size(_ key: StoreKey) async throws -> Int? {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.size(key) }
        if let place = try place(of: address) { return place.length }
        guard isShared, try await discoverPacks() > 0 else { return nil }
        return try place(of: address)?.length
    }

    package func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey] {
        try await ensureIndexed()
        precondition(limit > 0)
        // A shared store lists what other processes put too: it looks before a first page.
        if isShared, after == nil, prefix.hasPrefix(StoreKey.objectsPrefix) || StoreKey.objectsPrefix.hasPrefix(prefix) {
            try await discoverPacks()
        }
        if prefix.hasPrefix(StoreKey.objectsPrefix) { return try listObjects(prefix: prefix, after: after, limit: limit) }
        if Self.reservedPrefixes.contains(where: { prefix.hasPrefix($0) }) { return [] }
        var others: [StoreKey] = []
        var cursor = after
        while others.count < limit {
            let page = try await inner.list(prefix: prefix, after: cursor, limit: limit)
            guard let last = page.last else { break }
            others += page.filter { key in !Self.reservedPrefixes.contains(where: { key.path.hasPrefix($0) }) }
            cursor = last
        }
        guard StoreKey.objectsPrefix.hasPrefix(prefix) else { return Array(others.prefix(limit)) }
        // The prefix names the objects folder too ("", "o", …): merge both listings in key order.
        let objects = try listObjects(prefix: StoreKey.objectsPrefix, after: after, limit: limit)
        return Array((others + objects).sorted().prefix(limit))
    }

    /// Object keys from the index and the records not flushed yet, in key order.
    private func listObjects(prefix: String, after: StoreKey?, limit: Int) throws -> [StoreKey] {
        guard let (low, high) = Self.addressRange(prefix) else { return [] }
        func isAfter(_ address: ObjectAddress) -> Bool { after.map { $0 < StoreKey.object(address) } ?? true }
        var cursor = after?.objectAddress
        var found: [ObjectAddress] = []
        while found.count < limit {
            let page = try index.addresses(from: low, through: high, after: cursor, limit: limit)
            guard let last = page.last else { break }
            found += page.filter(isAfter)
            cursor = last
        }
        let pending = writer.withLock { state in
            state.pending.keys.filter { address in
                let bytes = address.digest.bytes
                return !bytes.lexicographicallyPrecedes(low) && !high.lexicographicallyPrecedes(bytes) && isAfter(address)
            }
        }
        return Set(found + pending).sorted().prefix(limit).map { StoreKey.object($0) }
    }

    /// The addresses (lowest and highest, inclusive) whose keys start with `prefix` under
    /// `objects/`; nil when none can.
    static func addressRange(_ prefix: String) -> (low: [UInt8], high: [UInt8])? {
        let rest = Array(prefix.utf8.dropFirst(StoreKey.objectsPrefix.utf8.count))
        let hex: [UInt8]
        if rest.count <= 2 {
            hex = rest
        } else {
            // "ab/" followed by the start of a name, which must itself start with "ab".
            let fan = Array(rest[0..<2])
            let name = Array(rest[3...])
            guard rest[2] == 0x2f, name.count <= 64, Array(name.prefix(2)) == Array(fan.prefix(name.count)) else { return nil }
            hex = name.count >= 2 ? name : fan
        }
        guard hex.allSatisfy(Hex.isLowercaseDigit) else { return nil }
        func padded(_ digit: UInt8) -> [UInt8] {
            Hex.decode(String(decoding: hex + Array(repeating: digit, count: 64 - hex.count), as: UTF8.self))!
        }
        return (padded(0x30), padded(0x66))
    }

    package func delete(_ key: StoreKey) async throws {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.delete(key) }
        writer.withLock { state in
            state.pending[address] = nil
            state.open?.uncommitted.removeAll { $0.entry.address == address }
        }
        try index.remove(address)
    }
}
