import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem

/// What a site's garbage collector needs beyond the storage protocol: ages, "vouched for"
/// marks, and a trash folder that makes a deletion reversible until it is final.
///
/// A value's modification time is when it was stored or last vouched for (`touch`); renames
/// keep it. The trash (`trash/` + the key) holds values a collection is about to delete:
/// readers never see them, and a collection that was killed puts them back first.
extension FileSystemStore {
    static let trashFolder = "trash"

    private func trashPath(_ key: StoreKey) -> RawPath { root.appending(Self.trashFolder).appending(key.path) }

    /// Marks a stored value as vouched for now (sets its modification time). Returns false,
    /// changing nothing, when the key holds nothing: the caller must then treat it as missing.
    package func touch(_ key: StoreKey) throws -> Bool {
        let rc = root.appending(key.path).withCString { utimensat(AT_FDCWD, $0, nil, 0) }
        if rc == 0 { return true }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw Self.translate(SystemError("utimensat", path: key.path), context: key.path)
    }

    /// When the value was stored or last vouched for (Unix seconds) and its size, or nil.
    package func age(_ key: StoreKey) throws -> (modified: Int, size: Int)? {
        try Self.status(of: root.appending(key.path), key: key)
    }

    /// Moves a value into the trash. Returns false when the key held nothing.
    package func moveToTrash(_ key: StoreKey) throws -> Bool {
        let source = root.appending(key.path)
        let target = trashPath(key)
        do {
            var createdParent = false
            while source.withCString({ s in target.withCString { rename(s, $0) } }) != 0 {
                // ENOENT is either the value (gone) or the trash's fan-out folder (not yet made).
                guard errno == ENOENT, !createdParent else {
                    if errno == ENOENT { return false }
                    throw SystemError("rename", path: key.path)
                }
                guard FileIO.exists(source) else { return false }
                try FileIO.makeDirectories(target.parent, mode: 0o700)
                createdParent = true
            }
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
        return true
    }

    /// The trashed value's modification time and size, or nil when it is not in the trash.
    package func trashedAge(_ key: StoreKey) throws -> (modified: Int, size: Int)? {
        try Self.status(of: trashPath(key), key: key)
    }

    /// Puts a trashed value back under its key. When the key meanwhile holds a value again
    /// (uploaded anew: values are immutable, so it is the same), the trashed copy is dropped.
    package func restoreFromTrash(_ key: StoreKey) throws {
        let source = trashPath(key)
        let rc = source.withCString { s in root.appending(key.path).withCString { skiff_rename_noreplace(AT_FDCWD, s, AT_FDCWD, $0) } }
        if rc == 0 { return }
        switch errno {
        case EEXIST: try emptyTrash(key)
        case ENOENT: return
        default: throw Self.translate(SystemError("rename", path: key.path), context: key.path)
        }
    }

    /// The bytes of a trashed value.
    package func getTrashed(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        do {
            let fd = try FileIO.open(trashPath(key), flags: O_RDONLY)
            defer { close(fd) }
            let size = try FileIO.size(fd, limit: Int.max, path: key.path)
            let range = (byteRange ?? 0..<size).clamped(to: 0..<size)
            return try FileIO.readUninitialized(range.count) { try FileIO.preadFull(fd, into: $0, at: Int64(range.lowerBound), path: key.path) }
        } catch let error as SystemError where error.isNotFound {
            throw StoreError.notFound(key)
        } catch let error as SystemError {
            throw Self.translate(error, context: key.path)
        }
    }

    /// Deletes a trashed value for good. Idempotent.
    package func emptyTrash(_ key: StoreKey) throws {
        let rc = trashPath(key).withCString { unlink($0) }
        if rc != 0 && errno != ENOENT { throw Self.translate(SystemError("unlink", path: key.path), context: key.path) }
    }

    /// Keys of the objects in the trash (left there by a collection that did not finish).
    package func trashedObjectKeys() async throws -> [StoreKey] {
        let folder = Self.trashFolder + "/"
        return try await list(prefix: folder + StoreKey.objectsPrefix, after: nil, limit: Int.max)
            .compactMap { try? StoreKey(String($0.path.dropFirst(folder.count))) }
    }

    /// `age` of many values, `sweepLanes` at a time on blocking threads: a stat that misses the
    /// inode cache waits on the disk, and the cooperative pool would run only one per core.
    package func ages(of keys: [StoreKey]) async throws -> [(modified: Int, size: Int)?] {
        try await BlockingWork.map(keys, lanes: Self.sweepLanes) { try self.age($0) }
    }

    /// `CollectableStore.sweep`, `sweepLanes` keys at a time on blocking threads: ext4 serializes little
    /// of an unlink, so parallel lanes delete several times faster than one (measured: 100,000
    /// unlinks in 7.7 s from one thread, 2.2 s from 16).
    package func sweep(_ keys: [StoreKey], olderThan cutoff: Int) async throws -> [SweepOutcome] {
        try await BlockingWork.map(keys, lanes: Self.sweepLanes) { key in
            guard try self.moveToTrash(key) else { return .absent }
            if let (modified, _) = try self.trashedAge(key), modified >= cutoff {
                try self.restoreFromTrash(key)
                return .putBack
            }
            try self.emptyTrash(key)
            return .deleted
        }
    }

    private static func status(of path: RawPath, key: StoreKey) throws -> (modified: Int, size: Int)? {
        var st = stat()
        if path.withCString({ stat($0, &st) }) == 0 { return (Int(st.st_mtim.tv_sec), Int(st.st_size)) }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw translate(SystemError("stat", path: key.path), context: key.path)
    }
}
