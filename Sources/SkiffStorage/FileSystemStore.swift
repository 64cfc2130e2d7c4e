import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// The embedded store: one file per key under a root folder.
///
/// - Objects fan out into 256 folders by their first address byte (`objects/ab/ab…`).
/// - `put` writes an unnamed O_TMPFILE file and links it into place (linkat fails rather
///   than replace), so a value appears whole or not at all and is never replaced. Without
///   O_TMPFILE it writes a named file in `tmp/` and renames it with RENAME_NOREPLACE (or
///   link(2) where that is missing), equally atomic.
/// - Durability is a group commit: `flush()` calls syncfs(2) once for every put since the
///   previous flush, instead of one fsync per object.
/// - Leftover named temporary files (from a killed writer) are invisible to readers and
///   removed by `removeStaleTemporaryFiles`; unnamed ones vanish by themselves.
///
/// `@unchecked Sendable` is not needed: every stored property is immutable or a `Mutex`.
package final class FileSystemStore: ObjectStore {
    package let root: RawPath
    private let rootDescriptor: Int32
    private let pendingPuts = Mutex<Int>(0)
    private let unnamedFilesSupported = Atomic<Bool>(true)
    private let temporaryFolder: RawPath
    static let temporaryFolder = "tmp"

    /// Opens an existing store folder (it must contain `tmp/` or be empty).
    /// - Throws: `StoreError.unavailable` when the folder does not exist.
    package init(root: RawPath) throws {
        self.root = root
        temporaryFolder = root.appending(Self.temporaryFolder)
        do {
            rootDescriptor = try FileIO.open(root, flags: O_RDONLY | O_DIRECTORY)
        } catch let error as SystemError {
            throw StoreError.unavailable("\(root): \(error.message)")
        }
        do {
            try FileIO.makeDirectories(root.appending(Self.temporaryFolder), mode: 0o700)
        } catch let error as SystemError {
            close(rootDescriptor)
            throw Self.translate(error, context: root.description)
        }
    }

    deinit { close(rootDescriptor) }

    /// Creates the folder (and parents) if needed, then opens it.
    package static func create(at root: RawPath) throws -> FileSystemStore {
        do { try FileIO.makeDirectories(root, mode: 0o700) } catch let error as SystemError {
            throw translate(error, context: root.description)
        }
        return try FileSystemStore(root: root)
    }

    private func path(_ key: StoreKey) -> RawPath { root.appending(key.path) }

    package static func translate(_ error: SystemError, context: String) -> StoreError {
        if error.isNoSpace { return .noSpace("\(context): \(error.message)") }
        if error.isPermissionDenied { return .permissionDenied("\(context): \(error.message)") }
        return .io(error.description)
    }

    package func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        let target = path(key)
        do {
            let outcome: PutOutcome
            if unnamedFilesSupported.load(ordering: .relaxed), let result = try putUnnamed(bytes, at: target, key: key) {
                outcome = result
            } else {
                outcome = try putNamed(bytes, at: target, key: key)
            }
            if outcome == .stored { pendingPuts.withLock { $0 += 1 } }
            return outcome
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
    }

    /// Writes into an unnamed O_TMPFILE file and links it into place: atomic, never replaces,
    /// and a killed writer leaves nothing behind. Returns nil when the filesystem or kernel
    /// lacks O_TMPFILE (the caller then uses `putNamed`).
    private func putUnnamed(_ bytes: [UInt8], at target: RawPath, key: StoreKey) throws -> PutOutcome? {
        let fd = temporaryFolder.withCString { skiff_open_tmpfile($0, 0o444) }
        guard fd >= 0 else {
            if errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL || errno == ENOENT {
                unnamedFilesSupported.store(false, ordering: .relaxed)
                return nil
            }
            throw SystemError("create", path: key.path)
        }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: key.path) }
        var createdParent = false
        while true {
            if target.withCString({ skiff_link_tmpfile(fd, $0) }) == 0 { return .stored }
            switch errno {
            case EEXIST:
                return .alreadyPresent
            case ENOENT where !createdParent:
                try FileIO.makeDirectories(target.parent, mode: 0o700)
                createdParent = true
            case ENOENT, EPERM, EACCES:
                // No /proc, or a hardened /proc: fall back to named temporary files.
                unnamedFilesSupported.store(false, ordering: .relaxed)
                return nil
            default:
                throw SystemError("link", path: key.path)
            }
        }
    }

    /// Writes a named temporary file in `tmp/` and renames it into place without replacing.
    private func putNamed(_ bytes: [UInt8], at target: RawPath, key: StoreKey) throws -> PutOutcome {
        let temporary = try writeTemporaryFile(bytes, key: key, sync: false)
        do { return try moveIntoPlace(temporary, target) } catch {
            _ = temporary.withCString { unlink($0) }
            throw error
        }
    }

    /// Replaces a value whose stored copy is known to be damaged (a site repairing an object
    /// from a verified upload, or putting one back from quarantine). The bytes go to a
    /// temporary file, synced, then renamed over the old copy: readers see the old or the new
    /// file, never a mix. Never use it to change a good value: values are immutable.
    package func replaceDamaged(_ key: StoreKey, _ bytes: [UInt8]) throws {
        do {
            let temporary = try writeTemporaryFile(bytes, key: key, sync: true)
            do {
                let target = path(key)
                try FileIO.makeDirectories(target.parent, mode: 0o700)
                guard temporary.withCString({ t in target.withCString { rename(t, $0) } }) == 0 else { throw SystemError("rename", path: key.path) }
            } catch {
                _ = temporary.withCString { unlink($0) }
                throw error
            }
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
        pendingPuts.withLock { $0 += 1 }
    }

    /// Writes `bytes` to a new file in `tmp/` (read-only, optionally fsync'd) and returns its
    /// path; on failure nothing is left behind.
    private func writeTemporaryFile(_ bytes: [UInt8], key: StoreKey, sync: Bool) throws -> RawPath {
        let temporary = temporaryFolder.appending("\(UInt64.random(in: 0...UInt64.max))-\(getpid()).tmp")
        do {
            let fd = try FileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o444)
            do {
                try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: key.path) }
                if sync { guard fsync(fd) == 0 else { throw SystemError("fsync", path: key.path) } }
                guard close(fd) == 0 else { throw SystemError("close", path: key.path) }
            } catch {
                close(fd)
                throw error
            }
            return temporary
        } catch {
            _ = temporary.withCString { unlink($0) }
            throw error
        }
    }

    /// Moves a value out of sight into `quarantine/` (kept for inspection, never read again
    /// as the value): for a copy found damaged. Returns false when the key was not there.
    package func quarantine(_ key: StoreKey) throws -> Bool {
        let folder = root.appending("quarantine")
        let target = folder.appending(key.path.replacingOccurrences(of: "/", with: "_"))
        do {
            try FileIO.makeDirectories(folder, mode: 0o700)
            guard path(key).withCString({ s in target.withCString { rename(s, $0) } }) == 0 else {
                if errno == ENOENT { return false }
                throw SystemError("rename", path: key.path)
            }
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
        return true
    }

    /// Renames without replacing; creates the fan-out folder on first use.
    private func moveIntoPlace(_ temporary: RawPath, _ target: RawPath) throws -> PutOutcome {
        var createdParent = false
        while true {
            let rc = temporary.withCString { t in target.withCString { skiff_rename_noreplace(AT_FDCWD, t, AT_FDCWD, $0) } }
            if rc == 0 { return .stored }
            switch errno {
            case EEXIST:
                _ = temporary.withCString { unlink($0) }
                return .alreadyPresent
            case ENOENT where !createdParent:
                try FileIO.makeDirectories(target.parent, mode: 0o700)
                createdParent = true
            case EINVAL, ENOSYS:
                // No RENAME_NOREPLACE here: link(2) is equally atomic and never replaces.
                let linked = temporary.withCString { t in target.withCString { link(t, $0) } }
                let linkErrno = errno
                if linked != 0 && linkErrno == ENOENT && !createdParent {
                    try FileIO.makeDirectories(target.parent, mode: 0o700)
                    createdParent = true
                    continue
                }
                _ = temporary.withCString { unlink($0) }
                if linked == 0 { return .stored }
                if linkErrno == EEXIST { return .alreadyPresent }
                throw SystemError("link", path: target.description, errno: linkErrno)
            default:
                throw SystemError("rename", path: target.description)
            }
        }
    }

    /// Whole values are read on a blocking thread, so that reads waiting on the disk (a site
    /// serving a restore from a cold cache) wait side by side instead of holding the
    /// cooperative pool's few threads; byte ranges (object headers, read by the hundred
    /// thousand while collecting) are read in place.
    package func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        guard let byteRange else { return try await read(key, into: { try FileIO.readUninitialized($0, $1) }) }
        return try await reading(key, onBlockingThread: false) { fd in
            // The range comes from outside (a Range header): clamp it to the file before
            // anything is allocated.
            let size = try FileIO.size(fd, limit: Self.valueLimit, path: key.path)
            let clamped = byteRange.clamped(to: 0..<size)
            return try FileIO.readUninitialized(clamped.count) {
                try FileIO.preadFull(fd, into: $0, at: Int64(clamped.lowerBound), path: key.path)
            }
        }
    }

    /// Largest file read as a value (objects are at most `ObjectHeader.maxObjectSize`; seals
    /// and tenant records are far smaller).
    static let valueLimit = ObjectHeader.maxObjectSize * 2

    /// Opens the file of `key` and runs `body` on it, on a blocking thread when asked;
    /// `StoreError.notFound` when there is none, other errors translated.
    func reading<T: Sendable>(_ key: StoreKey, onBlockingThread: Bool, _ body: @escaping @Sendable (Int32) throws -> T) async throws -> T {
        let file = path(key)
        @Sendable func run() throws -> T {
            let fd = try FileIO.open(file, flags: O_RDONLY)
            defer { close(fd) }
            return try body(fd)
        }
        do {
            return try onBlockingThread ? await BlockingWork.run(run) : run()
        } catch let error as SystemError where error.isNotFound {
            throw StoreError.notFound(key)
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
    }

    package func size(_ key: StoreKey) async throws -> Int? {
        var st = stat()
        let rc = path(key).withCString { stat($0, &st) }
        if rc == 0 { return (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw Self.translate(SystemError("stat", path: key.path), context: key.path)
    }

    package func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey] {
        precondition(limit > 0)
        // List the deepest folder named by the prefix, then filter by the full prefix.
        let folder: String
        if let slash = prefix.lastIndex(of: "/") { folder = String(prefix[..<slash]) } else { folder = "" }
        var out: [StoreKey] = []
        do {
            try collect(folder: folder, prefix: prefix, after: after?.path, limit: limit, into: &out)
        } catch let error as SystemError {
            throw Self.translate(error, context: prefix)
        }
        return out
    }

    /// Depth-first, sorted walk that stops once `limit` keys are collected.
    private func collect(folder: String, prefix: String, after: String?, limit: Int, into out: inout [StoreKey]) throws {
        let directory = folder.isEmpty ? root : root.appending(folder)
        let entries: [(name: [UInt8], isDirectory: Bool)]
        do {
            entries = try FileIO.directoryEntriesWithTypes(directory)
        } catch let error as SystemError where error.isNotFound || error.errno == ENOTDIR {
            return
        }
        // Sort as the keys sort: a folder's keys all start with "name/".
        let sorted = entries.map { (sortKey: $0.isDirectory ? $0.name + [0x2f] : $0.name, entry: $0) }
            .sorted { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        for (_, entry) in sorted {
            if out.count >= limit { return }
            guard let component = String(validating: entry.name, as: UTF8.self) else { continue }
            let keyPath = folder.isEmpty ? component : folder + "/" + component
            if folder.isEmpty && component == Self.temporaryFolder { continue }
            guard StoreKey.isValid(keyPath) else { continue }
            if entry.isDirectory {
                // Skip whole folders that cannot hold keys with the prefix or after the cursor.
                let asFolder = keyPath + "/"
                guard asFolder.hasPrefix(prefix) || prefix.hasPrefix(asFolder) else { continue }
                if let after, asFolder.utf8.lexicographicallyPrecedes(after.utf8), !after.hasPrefix(asFolder) { continue }
                try collect(folder: keyPath, prefix: prefix, after: after, limit: limit, into: &out)
            } else {
                guard keyPath.hasPrefix(prefix) else { continue }
                if let after, !after.utf8.lexicographicallyPrecedes(keyPath.utf8) { continue }
                out.append(try StoreKey(keyPath))
            }
        }
    }

    package func delete(_ key: StoreKey) async throws {
        let rc = path(key).withCString { unlink($0) }
        if rc != 0 && errno != ENOENT {
            throw Self.translate(SystemError("unlink", path: key.path), context: key.path)
        }
    }

    package func flush() async throws {
        let pending = pendingPuts.withLock { count -> Int in
            defer { count = 0 }
            return count
        }
        guard pending > 0 else { return }
        let fd = rootDescriptor
        let rootName = root.description
        do {
            try await BlockingWork.run {
                guard skiff_syncfs(fd) == 0 else { throw SystemError("syncfs", path: rootName) }
            }
        } catch let error as SystemError {
            pendingPuts.withLock { $0 += pending }
            throw Self.translate(error, context: "flush")
        }
    }

    /// Removes temporary files older than `age` seconds: leftovers of writers that were
    /// killed mid-put. Younger ones may belong to a put in progress in another process.
    package func removeStaleTemporaryFiles(olderThan age: Int = 3600) throws {
        let folder = root.appending(Self.temporaryFolder)
        let now = time(nil)
        for name in try FileIO.directoryEntries(folder) {
            var st = stat()
            let file = folder.appending(name)
            guard file.withCString({ lstat($0, &st) }) == 0 else { continue }
            if Int(now) - Int(st.st_mtim.tv_sec) >= age { try FileIO.remove(file) }
        }
    }
}
