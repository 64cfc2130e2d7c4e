import SkiffSystem
import Synchronization

/// One async lock per key, created on first use: seals of one host are accepted one at a
/// time, while other hosts proceed in parallel.
final class KeyedLocks<Key: Hashable & Sendable>: Sendable {
    private let locks = Mutex<[Key: AsyncSemaphore]>([:])

    func withLock<T: Sendable>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        let lock = locks.withLock { locks in
            if let existing = locks[key] { return existing }
            let created = AsyncSemaphore(permits: 1)
            locks[key] = created
            return created
        }
        await lock.acquire()
        defer { lock.release() }
        return try await body()
    }
}
