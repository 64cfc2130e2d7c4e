import Logging
import SkiffBackup
import SkiffCore
import SkiffStorage
import Synchronization

/// A local repository destination with one fault, to replay what a killed or slow backup does
/// to the repository, deterministically.
struct FaultyDestination: SnapshotDestination {
    enum Fault: Sendable {
        /// Stores and checkpoints everything, then fails instead of writing the seal: a backup
        /// killed after its last checkpoint (its objects are in the repository and the cache).
        case neverSeals
        /// Stops at its first object until the pause is resumed: a backup in progress.
        case pauses(Pause)
    }

    struct Interrupted: Error {}

    /// Where a paused backup waits: `reached` yields once it is paused, `resume()` lets it go.
    final class Pause: Sendable {
        let reached: AsyncStream<Void>
        private let reachedSignal: AsyncStream<Void>.Continuation
        private let resumed: AsyncStream<Void>
        private let resumeSignal: AsyncStream<Void>.Continuation
        private let armed = Mutex(true)

        init() {
            (reached, reachedSignal) = AsyncStream.makeStream()
            (resumed, resumeSignal) = AsyncStream.makeStream()
        }

        /// Waits until the destination has paused.
        func waitUntilReached() async {
            for await _ in reached { return }
        }

        func resume() { resumeSignal.finish() }

        /// Pauses the first caller until `resume()`; later callers pass.
        func stopOnce() async {
            guard armed.withLock({ armed in defer { armed = false }; return armed }) else { return }
            reachedSignal.yield()
            for await _ in resumed {}
        }
    }

    let inner: RepositoryDestination
    let fault: Fault

    init(_ repository: Repository, fault: Fault) {
        inner = RepositoryDestination(repository: repository)
        self.fault = fault
    }

    func put(_ object: EncodedObject) async throws -> Bool {
        if case .pauses(let pause) = fault { await pause.stopOnce() }
        return try await inner.put(object)
    }

    func checkpoint() async throws { try await inner.checkpoint() }

    func commit(_ seal: Seal) async throws {
        if case .neverSeals = fault { throw Interrupted() }
        try await inner.commit(seal)
    }

    func latestSeal(host: String) async throws -> Seal? { try await inner.latestSeal(host: host) }

    func beginSnapshot(host: String, cache: LocalCache, logger: Logger) async throws -> SnapshotLease {
        try await inner.beginSnapshot(host: host, cache: cache, logger: logger)
    }
}
