import Glibc
import SkiffCore
import Synchronization

/// A store in memory, for tests: the storage contract and the site's (`MemoryStore+CollectableStore`)
/// with the semantics of `FileSystemStore`, and both conformance suites passed, but no I/O, so a
/// test that runs a site, a sender or an audit over it takes milliseconds.
///
/// - Values, the trash and quarantined copies live in one `Mutex`: every verb is one atomic
///   step, so concurrent puts of one key store exactly one value.
/// - A value's "modified" time (Unix seconds from `clock`) is set when it is stored and by every
///   vouch, and kept through the trash, as a file's modification time is.
/// - `flush` has nothing to make durable; it only counts calls (`flushes`), so a test can see
///   that a writer flushed.
/// - Listing filters and sorts every key on each call: linear in the store's size, which is fine
///   for the thousands of values of a test, not for a real site.
/// - `capacity` (bytes, optional) makes puts beyond it fail with `StoreError.noSpace`, as a
///   full disk does, storing nothing.
///
/// `@unchecked Sendable` is not needed: every stored property is immutable or a `Mutex`.
package final class MemoryStore: ObjectStore {
    struct Value {
        var bytes: [UInt8]
        var modified: Int
    }

    struct State {
        var values: [StoreKey: Value] = [:]
        var trash: [StoreKey: Value] = [:]
        var quarantined: [StoreKey: [UInt8]] = [:]
        var storedBytes = 0
        var flushes = 0
    }

    let state = Mutex(State())
    let clock: @Sendable () -> Int
    package let capacity: Int?
    package let isShared: Bool

    /// - Parameters:
    ///   - isShared: what `CollectableStore.isShared` answers (true makes a site read seal heads from
    ///     the store, as on a bucket several site processes share).
    ///   - capacity: bytes the values may take in all; nil for no limit.
    ///   - clock: the time in Unix seconds, for ages and vouches (the wall clock by default).
    package init(isShared: Bool = false, capacity: Int? = nil, clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) {
        self.isShared = isShared
        self.capacity = capacity
        self.clock = clock
    }

    package func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        let now = clock()
        return try state.withLock { state in
            guard state.values[key] == nil else { return .alreadyPresent }
            if let capacity, state.storedBytes + bytes.count > capacity {
                throw StoreError.noSpace("\(key.path): \(bytes.count) bytes do not fit in the \(capacity) bytes of the memory store")
            }
            state.values[key] = Value(bytes: bytes, modified: now)
            state.storedBytes += bytes.count
            return .stored
        }
    }

    /// A byte range is clamped to the value (one that starts at or after the end gives no bytes);
    /// a whole value is handed out without a copy (arrays are copy-on-write).
    package func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        guard let bytes = state.withLock({ $0.values[key]?.bytes }) else { throw StoreError.notFound(key) }
        guard let byteRange else { return bytes }
        return Array(bytes[byteRange.clamped(to: 0..<bytes.count)])
    }

    package func size(_ key: StoreKey) async throws -> Int? {
        state.withLock { $0.values[key]?.bytes.count }
    }

    package func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey] {
        precondition(limit > 0)
        let keys = state.withLock { state in
            state.values.keys.filter { key in key.path.hasPrefix(prefix) && after.map { $0 < key } ?? true }
        }
        return Array(keys.sorted().prefix(limit))
    }

    package func delete(_ key: StoreKey) async throws {
        state.withLock { state in
            if let removed = state.values.removeValue(forKey: key) { state.storedBytes -= removed.bytes.count }
        }
    }

    package func flush() async throws {
        state.withLock { $0.flushes += 1 }
    }

    /// How many times `flush` was called.
    package var flushes: Int { state.withLock { $0.flushes } }

    /// Bytes of the values stored now (the trash and quarantine not counted).
    package var storedBytes: Int { state.withLock { $0.storedBytes } }

    /// The stored bytes changed in place by `change`, as bit rot or a hostile administrator
    /// would: for tests of what notices damage. Throws `notFound` when the key holds nothing.
    package func damage(_ key: StoreKey, _ change: (inout [UInt8]) -> Void) throws {
        try state.withLock { state in
            guard var value = state.values[key] else { throw StoreError.notFound(key) }
            state.storedBytes -= value.bytes.count
            change(&value.bytes)
            state.storedBytes += value.bytes.count
            state.values[key] = value
        }
    }
}
