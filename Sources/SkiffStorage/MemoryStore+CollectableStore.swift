import SkiffCore
import Synchronization

/// The site's side of the memory store, as `FileSystemStore` does it: a vouch sets the value's
/// modified time (so there are no vouch records to forget), the trash keeps a value with its
/// modified time, quarantine keeps the damaged bytes out of sight. Each verb holds the lock
/// for its whole step, which satisfies the vouch-before-trash ordering of `CollectableStore`'s contract
/// trivially.
extension MemoryStore: CollectableStore {
    package func vouch(_ key: StoreKey) async throws -> Bool {
        let now = clock()
        return state.withLock { state in
            guard state.values[key] != nil else { return false }
            state.values[key]!.modified = now
            return true
        }
    }

    package func age(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        state.withLock { $0.values[key].map { ($0.modified, $0.bytes.count) } }
    }

    package func moveToTrash(_ key: StoreKey) async throws -> Bool {
        state.withLock { state in
            guard let value = state.values.removeValue(forKey: key) else { return false }
            state.storedBytes -= value.bytes.count
            state.trash[key] = value
            return true
        }
    }

    package func trashedAge(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        state.withLock { $0.trash[key].map { ($0.modified, $0.bytes.count) } }
    }

    /// A value stored anew meanwhile (the same bytes: keys are content addresses) wins, and
    /// the trashed copy is dropped.
    package func restoreFromTrash(_ key: StoreKey) async throws {
        state.withLock { state in
            guard let value = state.trash.removeValue(forKey: key), state.values[key] == nil else { return }
            state.values[key] = value
            state.storedBytes += value.bytes.count
        }
    }

    package func getTrashed(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        guard let bytes = state.withLock({ $0.trash[key]?.bytes }) else { throw StoreError.notFound(key) }
        return Array(bytes[(byteRange ?? 0..<bytes.count).clamped(to: 0..<bytes.count)])
    }

    package func emptyTrash(_ key: StoreKey) async throws {
        _ = state.withLock { $0.trash.removeValue(forKey: key) }
    }

    package func trashedObjectKeys() async throws -> [StoreKey] {
        state.withLock { state in state.trash.keys.filter { $0.objectAddress != nil } }.sorted()
    }

    /// Modified times are the vouch records: nothing to forget.
    package func forgetVouches(olderThan cutoff: Int) async throws {}

    /// A shared memory store (tests of several processes on one bucket) keeps vouch records as
    /// a bucket does, under `vouches/`.
    package func recordVouch(_ key: StoreKey) async throws {
        let now = clock()
        let record = try StoreKey("vouches/" + key.path)
        state.withLock { $0.values[record] = Value(bytes: [], modified: now) }
    }

    package func vouchRecordAge(_ key: StoreKey) async throws -> Int? {
        let record = try StoreKey("vouches/" + key.path)
        return state.withLock { $0.values[record]?.modified }
    }

    package func quarantine(_ key: StoreKey) async throws -> Bool {
        state.withLock { state in
            guard let value = state.values.removeValue(forKey: key) else { return false }
            state.storedBytes -= value.bytes.count
            state.quarantined[key] = value.bytes
            return true
        }
    }

    /// The one overwrite: the new bytes replace whatever the key holds (or held), stored now.
    package func replaceDamaged(_ key: StoreKey, _ bytes: [UInt8]) async throws {
        let now = clock()
        state.withLock { state in
            state.storedBytes += bytes.count - (state.values[key]?.bytes.count ?? 0)
            state.values[key] = Value(bytes: bytes, modified: now)
        }
    }

    /// Nothing is ever left half-written in memory.
    package func removeStaleLeftovers() async throws {}

    /// The bytes a `quarantine` moved aside, by their key (for tests; a site never serves them).
    package func quarantinedBytes(_ key: StoreKey) -> [UInt8]? {
        state.withLock { $0.quarantined[key] }
    }
}
