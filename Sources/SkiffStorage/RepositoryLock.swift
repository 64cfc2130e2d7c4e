import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// The lock of a local repository (docs/FORMAT.md §8, rule L1): flock(2) on
/// `<repository>/lock`, held shared by every backup from before it consults its cache until its
/// seal is written, and exclusively by a prune. Backups exclude prunes, not each other. The
/// kernel drops the lock when its process ends, however it ends: a killed holder never leaves
/// it behind.
///
/// Through a held lock a process also reads the repository's *prune epoch* (`<repository>/pruned`,
/// rule L2): a random token that a prune renews, durably, before it moves the first object to
/// the trash. A backup that finds another epoch than the one its cache recorded knows that
/// objects its cache names may be gone.
///
/// Sendable: the descriptor sits in a `Mutex`, and is closed once.
package final class RepositoryLock: Sendable {
    package enum Mode: Sendable {
        case shared, exclusive
    }

    package let mode: Mode
    package let root: RawPath
    private let descriptor: Mutex<Int32?>

    static let lockFile = "lock"
    static let epochFile = "pruned"

    private init(mode: Mode, root: RawPath, descriptor: Int32) {
        self.mode = mode
        self.root = root
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Takes the lock if no other process holds it in a conflicting mode; nil otherwise.
    /// Creates the lock file on first use.
    /// - Throws: `StoreError` when the lock file cannot be opened (no repository, no permission).
    package static func attempt(_ mode: Mode, repository root: RawPath) throws -> RepositoryLock? {
        let fd = try openLockFile(root)
        do {
            guard try lock(fd, mode, waiting: false, root: root) else {
                close(fd)
                return nil
            }
        } catch {
            close(fd)
            throw error
        }
        return RepositoryLock(mode: mode, root: root, descriptor: fd)
    }

    /// Takes the lock, waiting while another process holds it in a conflicting mode; `waiting`
    /// is called first when it has to wait. The wait is a blocking flock(2) on a blocking
    /// thread, so the lock goes to this waiter as soon as the holder lets go (a stream of
    /// prunes cannot starve a backup). Not cancellable while blocked: it ends when the holder
    /// (a prune) ends, or is killed.
    package static func acquire(_ mode: Mode, repository root: RawPath, waiting: () -> Void = {}) async throws -> RepositoryLock {
        let fd = try openLockFile(root)
        do {
            if try !lock(fd, mode, waiting: false, root: root) {
                waiting()
                _ = try await BlockingWork.run { try lock(fd, mode, waiting: true, root: root) }
            }
        } catch {
            close(fd)
            throw error
        }
        return RepositoryLock(mode: mode, root: root, descriptor: fd)
    }

    private static func openLockFile(_ root: RawPath) throws -> Int32 {
        let path = root.appending(lockFile)
        do {
            return try FileIO.open(path, flags: O_RDONLY | O_CREAT | O_CLOEXEC, mode: 0o644)
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: path.description)
        }
    }

    /// flock(2); false when it would have to wait and `waiting` is false.
    private static func lock(_ fd: Int32, _ mode: Mode, waiting: Bool, root: RawPath) throws -> Bool {
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | (waiting ? 0 : LOCK_NB)
        if retryingInterrupts({ flock(fd, operation) }) == 0 { return true }
        let failure = errno
        if failure == EWOULDBLOCK && !waiting { return false }
        let path = root.appending(lockFile).description
        throw FileSystemStore.translate(SystemError("flock", path: path, errno: failure), context: path)
    }

    /// Releases the lock. Idempotent.
    package func release() {
        descriptor.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    /// The repository's prune epoch, or nil when no prune ever deleted anything there.
    package func pruneEpoch() throws -> String? {
        let path = root.appending(Self.epochFile)
        do {
            return String(decoding: try FileIO.readFile(path, limit: 256).filter { $0 > 0x20 }, as: UTF8.self)
        } catch let error as SystemError where error.isNotFound {
            return nil
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: path.description)
        }
    }

    /// Writes a new random prune epoch and makes it durable. Only with the exclusive lock:
    /// backups holding it shared read the epoch.
    package func renewPruneEpoch() throws {
        precondition(mode == .exclusive, "the prune epoch changes only under the exclusive lock")
        let token = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let path = root.appending(Self.epochFile)
        do {
            try FileIO.writeFileAtomically(path, Array((token + "\n").utf8), mode: 0o644)
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: path.description)
        }
    }
}
