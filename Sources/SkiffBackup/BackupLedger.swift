import SkiffCore
import SkiffSystem
import Synchronization

/// The deduplication index of a running backup: what is already stored (the cache), what
/// this run stored (in memory until the next checkpoint), and the cache rows to write once
/// the destination has made them durable.
package final class BackupLedger: Sendable {
    private struct State {
        var runObjects: [ObjectIdentity: ObjectAddress] = [:]
        var pendingObjects: [LocalCache.ObjectRecord] = []
        var pendingFiles: [LocalCache.FileRecord] = []
        var bytesSinceCheckpoint = 0
    }

    package let cache: LocalCache
    private let state = Mutex(State())
    private let checkpointing = AsyncSemaphore(permits: 1)

    package init(cache: LocalCache) {
        self.cache = cache
    }

    /// The address of an object with this identity that is stored or queued, if any.
    package func address(for identity: ObjectIdentity) throws -> ObjectAddress? {
        if let address = state.withLock({ $0.runObjects[identity] }) { return address }
        return try cache.address(for: identity)
    }

    /// Records an object this run stored. The first address recorded for an identity wins.
    package func recordStored(_ object: EncodedObject) {
        guard let identity = object.identity else { return }
        state.withLock { state in
            guard state.runObjects[identity] == nil else { return }
            state.runObjects[identity] = object.address
            state.pendingObjects.append(.init(identity: identity, address: object.address, kind: object.kind, size: object.bytes.count))
            state.bytesSinceCheckpoint += object.bytes.count
        }
    }

    package func recordFile(_ record: LocalCache.FileRecord) {
        state.withLock { $0.pendingFiles.append(record) }
    }

    package var bytesSinceCheckpoint: Int { state.withLock { $0.bytesSinceCheckpoint } }

    /// Makes everything recorded so far durable at `destination`, then writes it to the cache.
    /// Concurrent calls run one after another.
    package func checkpoint(_ destination: any SnapshotDestination) async throws {
        await checkpointing.acquire()
        defer { checkpointing.release() }
        let (objects, files) = state.withLock { state -> ([LocalCache.ObjectRecord], [LocalCache.FileRecord]) in
            defer {
                state.pendingObjects = []
                state.pendingFiles = []
                state.bytesSinceCheckpoint = 0
            }
            return (state.pendingObjects, state.pendingFiles)
        }
        do {
            try await destination.checkpoint()
            try cache.recordObjects(objects)
            try cache.recordFiles(files)
        } catch {
            state.withLock { state in
                state.pendingObjects.insert(contentsOf: objects, at: 0)
                state.pendingFiles.insert(contentsOf: files, at: 0)
            }
            throw error
        }
        // The cache now answers for these; free the memory.
        state.withLock { state in
            for record in objects where state.runObjects[record.identity] == record.address {
                state.runObjects[record.identity] = nil
            }
        }
    }
}
