import Logging
import SkiffCore
import SkiffSystem
import Synchronization

/// The deduplication index of a running backup: what is already stored (the cache), what
/// this run stored (in memory until the next checkpoint), and the cache rows to write once
/// the destination has made them durable.
package final class BackupLedger: Sendable {
    private struct State {
        /// Every identity the cache holds or this run stored: lookups that miss it skip SQLite.
        var known: BloomFilter
        var runObjects: [ObjectIdentity: ObjectAddress] = [:]
        var pendingObjects: [LocalCache.ObjectRecord] = []
        var pendingDirectories: [LocalCache.DirectoryRecord] = []
        var bytesSinceCheckpoint = 0
        /// Cached objects this run reuses: marked seen once its seal is committed.
        var reused: Set<ObjectIdentity> = []
        /// Cache entries seen before this are not reused (rule W6).
        var seenSince: Int64 = 0
    }

    /// At most this many reused identities are remembered per run (32 MiB); beyond, reuse
    /// goes on but those entries are not refreshed, so they may be uploaded again one day.
    static let maxReusedRemembered = 1_000_000

    package let cache: LocalCache
    let logger: Logger?
    private let state: Mutex<State>
    private let checkpointing = AsyncSemaphore(permits: 1)
    private struct Background {
        var task: Task<Void, Never>?
        var error: (any Error)?
    }

    private let background = Mutex(Background())
    /// Whether the cache knew any directory when the run started; if not, lookups are skipped.
    package let hasCachedDirectories: Bool

    /// Loads the cache's identities into a Bloom filter sized for twice as many plus a
    /// million, so that lookups of new content (nearly all of an initial backup) never touch
    /// SQLite.
    package init(cache: LocalCache, logger: Logger? = nil) throws {
        self.cache = cache
        self.logger = logger
        let count = try cache.objectCount()
        var filter = BloomFilter(capacity: 2 * count + 1_000_000)
        try cache.forEachIdentity { filter.insert($0.digest) }
        state = Mutex(State(known: filter))
        hasCachedDirectories = try cache.directoryCount() > 0
    }

    /// The address of an object with this identity that is stored or queued, if any.
    package func address(for identity: ObjectIdentity) throws -> ObjectAddress? {
        let (address, maybeCached) = state.withLock { state in
            (state.runObjects[identity], state.known.mayContain(identity.digest))
        }
        if let address { return address }
        guard maybeCached else { return nil }
        let seenSince = state.withLock { $0.seenSince }
        guard let cached = try cache.address(for: identity, seenSince: seenSince) else { return nil }
        state.withLock { state in
            if state.reused.count < Self.maxReusedRemembered { state.reused.insert(identity) }
        }
        return cached
    }

    /// Starts a snapshot taken at `time`: cache entries older than the reuse horizon are not
    /// reused from now on.
    package func beginSnapshot(at time: Timestamp, reuseHorizonSeconds: Int64) {
        state.withLock { state in
            state.reused = []
            state.seenSince = time.seconds - reuseHorizonSeconds
        }
    }

    /// After the snapshot's seal is committed: the objects it reused are seen at its time.
    package func snapshotSealed(at time: Timestamp) throws {
        let reused = state.withLock { state -> Set<ObjectIdentity> in
            defer { state.reused = [] }
            return state.reused
        }
        try cache.confirmObjects(reused, seen: time.seconds)
    }

    /// Records an object this run stored. The first address recorded for an identity wins.
    package func recordStored(_ object: EncodedObject) {
        guard let identity = object.identity else { return }
        state.withLock { state in
            guard state.runObjects[identity] == nil else { return }
            state.runObjects[identity] = object.address
            state.known.insert(identity.digest)
            state.pendingObjects.append(.init(identity: identity, address: object.address, kind: object.kind, size: object.bytes.count))
            state.bytesSinceCheckpoint += object.bytes.count
        }
    }

    /// The row the cache holds for the directory at `path`, if any (one SQLite read; none
    /// when the cache held no directory as the run started).
    package func cachedDirectory(path: [UInt8]) throws -> LocalCache.DirectoryRecord? {
        hasCachedDirectories ? try cache.directory(path: path) : nil
    }

    /// Remembers a directory's stored tree and entries; written to the cache at the next
    /// checkpoint, once the objects it reaches are durable.
    package func recordDirectory(_ record: LocalCache.DirectoryRecord) {
        state.withLock { $0.pendingDirectories.append(record) }
    }

    package var bytesSinceCheckpoint: Int { state.withLock { $0.bytesSinceCheckpoint } }

    /// Records waiting for the next checkpoint (objects, directories): many small files fill
    /// memory long before they fill `checkpointBytes`.
    package var pendingRecords: Int { state.withLock { $0.pendingObjects.count + $0.pendingDirectories.count } }

    /// Starts a checkpoint without waiting for it, unless one is already running, so that a
    /// flush (syncfs: hundreds of milliseconds) never stalls the pipeline.
    /// - Throws: the error of an earlier background checkpoint that failed.
    package func checkpointInBackground(_ destination: any SnapshotDestination) throws {
        try background.withLock { state in
            if let error = state.error { throw error }
            guard state.task == nil else { return }
            state.task = Task {
                do {
                    try await self.checkpointNow(destination)
                    self.background.withLock { $0.task = nil }
                } catch {
                    self.background.withLock { state in
                        state.task = nil
                        state.error = error
                    }
                }
            }
        }
    }

    /// Makes everything recorded so far durable at `destination`, then writes it to the cache.
    /// Waits for a background checkpoint first, and throws its error if it failed.
    package func checkpoint(_ destination: any SnapshotDestination) async throws {
        if let running = background.withLock({ $0.task }) { await running.value }
        if let error = background.withLock({ $0.error }) { throw error }
        try await checkpointNow(destination)
    }

    private func checkpointNow(_ destination: any SnapshotDestination) async throws {
        await checkpointing.acquire()
        defer { checkpointing.release() }
        let (objects, directories) = state.withLock { state -> ([LocalCache.ObjectRecord], [LocalCache.DirectoryRecord]) in
            defer {
                state.pendingObjects = []
                state.pendingDirectories = []
                state.bytesSinceCheckpoint = 0
            }
            return (state.pendingObjects, state.pendingDirectories)
        }
        do {
            let clock = ContinuousClock()
            let started = clock.now
            try await destination.checkpoint()
            let flushed = clock.now
            try cache.recordObjects(objects)
            try cache.recordDirectories(directories)
            logger?.debug("checkpoint", metadata: [
                "objects": "\(objects.count)", "directories": "\(directories.count)", "flush": "\(flushed - started)", "cache": "\(clock.now - flushed)",
            ])
        } catch {
            state.withLock { state in
                state.pendingObjects.insert(contentsOf: objects, at: 0)
                state.pendingDirectories.insert(contentsOf: directories, at: 0)
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
