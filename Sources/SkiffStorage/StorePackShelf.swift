import SkiffCore
import Synchronization

/// Packs as values of another store under `packs/<32 hex>` (in the order packs were started): a bucket (one PUT per pack,
/// ranged GETs to read) or memory in tests. A pack is built in memory and put whole when the
/// packed store flushes or the pack reaches its target size; small packs left by frequent
/// flushes are merged by the next repack.
package struct StorePackShelf: PackShelf {
    package let store: any ObjectStore
    /// Recently read windows of packs: a restore or an audit reads objects in about the order
    /// they were packed, so one GET of a window serves many objects (the target is at most 100
    /// requests per GiB restored).
    let windows: PackWindows
    /// Names this shelf's windows in `windows`, which several shelves may share.
    let windowPrefix: String

    /// A shelf over `store`, its windows in `windows` (nil: its own, in memory) under
    /// `windowPrefix` (unique among the shelves sharing them).
    package init(store: any ObjectStore, windows: PackWindows? = nil, windowPrefix: String = "") {
        self.store = store
        self.windows = windows ?? PackWindows()
        self.windowPrefix = windowPrefix
    }

    package var appendsAfterSync: Bool { false }

    /// Runs up to a window (16 MiB), gaps up to 2 MiB read through: runs are read through the
    /// windows, so what decides the requests is how long windows stay (`PackWindows`).
    package var coalescing: ReadCoalescing { ReadCoalescing(gap: 2 << 20, limit: PackWindows.windowSize) }

    static func key(_ name: PackName) -> StoreKey { try! StoreKey(name.bucketPath) }

    package func key(_ name: PackName) -> StoreKey { Self.key(name) }

    package func create(_ name: PackName) throws -> any PackAppender {
        let appender = MemoryPackAppender(name: name, store: store)
        _ = try PackLayout.magic.withUnsafeBytes { try appender.append([$0]) }
        return appender
    }

    /// A range inside one or two neighbouring windows comes from the windows (each fetched whole,
    /// once, by whichever reader asks first); a larger one is one ranged GET.
    package func read(_ name: PackName, range: Range<Int>) async throws -> [UInt8] {
        let size = PackWindows.windowSize
        guard !range.isEmpty else { return [] }
        let first = range.lowerBound / size, last = (range.upperBound - 1) / size
        guard last - first <= 1 else { return try await store.get(Self.key(name), byteRange: range) }
        let store = self.store
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        for number in first...last {
            let from = max(range.lowerBound - number * size, 0)
            let to = range.upperBound - number * size
            let (bytes, windowSize) = try await windows.bytes(PackWindows.Key(prefix: windowPrefix, name: name, number: number), from..<to) {
                try await store.get(Self.key(name), byteRange: (number * size)..<((number + 1) * size))
            }
            out += bytes
            if windowSize < size { break }
        }
        return out
    }

    package func size(_ name: PackName) async throws -> Int? {
        try await store.size(Self.key(name))
    }

    /// One listing of `packs/` after the lowest name of a pack started at `seconds`: names sort
    /// by start time.
    package func names(startedSince seconds: Int) async throws -> [PackName] {
        var names: [PackName] = []
        var after = try StoreKey("packs/" + PackName.lowest(startedAt: seconds))
        while true {
            let page = try await store.list(prefix: "packs/", after: after, limit: 1000)
            guard let last = page.last else { return names }
            names += page.compactMap { PackName(hex: $0.path.dropFirst("packs/".count)) }
            after = last
        }
    }

    package func delete(_ name: PackName) async throws {
        try await store.delete(Self.key(name))
        windows.forget(prefix: windowPrefix, name: name)
    }
}

/// A pack built in memory and put whole into a store by `finish`.
final class MemoryPackAppender: PackAppender {
    let name: PackName
    let store: any ObjectStore
    private let bytes = Mutex<[UInt8]?>([])
    /// The size once finished (the bytes are then in the store).
    private let finishedSize = Mutex(0)

    init(name: PackName, store: any ObjectStore) {
        self.name = name
        self.store = store
    }

    var size: Int { bytes.withLock { $0?.count } ?? finishedSize.withLock { $0 } }

    func append(_ parts: [UnsafeRawBufferPointer]) throws -> Int {
        try bytes.withLock { bytes in
            guard bytes != nil else { throw StoreError.io("\(name.bucketPath): appended after finish") }
            let start = bytes!.count
            for part in parts { bytes!.append(contentsOf: part) }
            return start
        }
    }

    func pendingBytes(_ range: Range<Int>) -> [UInt8]? {
        bytes.withLock { bytes in
            guard let bytes else { return nil }
            return Array(bytes[range.clamped(to: 0..<bytes.count)])
        }
    }

    func sync() async throws {}

    /// Puts the pack and flushes the store. The bytes stay readable from memory until the put
    /// returned, so readers never miss an object in between.
    func finish() async throws {
        guard let whole = bytes.withLock({ $0 }) else { return }
        _ = try await store.put(StorePackShelf.key(name), whole)
        try await store.flush()
        finishedSize.withLock { $0 = whole.count }
        bytes.withLock { $0 = nil }
    }

    func abandon() { bytes.withLock { $0 = nil } }
}
