import SkiffCore
import Synchronization

/// Packs as values of another store under `packs/<2 hex>/<32 hex>`: a bucket (one PUT per pack,
/// ranged GETs to read) or memory in tests. A pack is built in memory and put whole when the
/// packed store flushes or the pack reaches its target size; small packs left by frequent
/// flushes are merged by the next repack.
package struct StorePackShelf: PackShelf {
    package let store: any ObjectStore

    package init(store: any ObjectStore) { self.store = store }

    package var appendsAfterSync: Bool { false }

    static func key(_ name: PackName) -> StoreKey { try! StoreKey(name.path) }

    package func create(_ name: PackName) throws -> any PackAppender {
        let appender = MemoryPackAppender(name: name, store: store)
        _ = try PackLayout.magic.withUnsafeBytes { try appender.append([$0]) }
        return appender
    }

    package func read(_ name: PackName, range: Range<Int>) async throws -> [UInt8] {
        try await store.get(Self.key(name), byteRange: range)
    }

    package func size(_ name: PackName) async throws -> Int? {
        try await store.size(Self.key(name))
    }

    package func names() async throws -> [PackName] {
        var names: [PackName] = []
        for try await key in store.keys(prefix: "packs/") {
            if let name = PackName(hex: key.path.split(separator: "/").last ?? "") { names.append(name) }
        }
        return names
    }

    package func delete(_ name: PackName) async throws {
        try await store.delete(Self.key(name))
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
            guard bytes != nil else { throw StoreError.io("\(name.path): appended after finish") }
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
