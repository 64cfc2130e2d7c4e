import Foundation
import GRDB
import Glibc
import SkiffSystem

/// Consistent copies of live SQLite databases.
///
/// Reading a database file while its application writes gives a torn copy, and in WAL mode
/// the committed transactions still in `-wal` are not in the main file at all. A database
/// with a `-wal` or `-journal` file beside it is therefore copied through SQLite's online
/// backup API (which takes a read transaction: a consistent state, WAL included) into a
/// scratch file, and that copy is what the snapshot stores under the database's name and
/// metadata. Its `-wal` and `-shm` files are left out (replaying an old WAL over the copy
/// would corrupt it); restoring gives a database that opens at the state of the copy.
package enum DatabaseCapture {
    static let magic = Array("SQLite format 3\0".utf8)

    /// True when `path` starts with the SQLite header.
    static func isDatabase(_ path: RawPath) -> Bool {
        guard let fd = try? FileIO.open(path, flags: O_RDONLY | O_NOFOLLOW) else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
        return count == 16 && header == magic
    }

    /// True when the database has a write-ahead log or rollback journal beside it (so it is
    /// live, or was left mid-transaction).
    static func hasJournal(_ path: RawPath) -> Bool {
        ["-wal", "-journal"].contains { FileManager.default.fileExists(atPath: path.description + $0) }
    }

    /// The names in one directory listing that have a `-wal` or `-journal` file beside them:
    /// the candidates for a consistent copy, found without a system call per file.
    static func journaledNames(_ names: [[UInt8]]) -> Set<[UInt8]> {
        var found = Set<[UInt8]>()
        for name in names {
            for suffix in ["-wal", "-journal"] where name.count > suffix.utf8.count && name.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) {
                found.insert(Array(name.dropLast(suffix.utf8.count)))
            }
        }
        return found
    }

    /// For `name` ending in -wal or -shm: whether its database sits beside it (then the file is
    /// covered by the database's consistent copy and skipped).
    static func isCoveredSidecar(_ path: RawPath, name: [UInt8]) -> Bool {
        for suffix in ["-wal", "-shm"] where name.count > suffix.utf8.count && name.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) {
            let database = RawPath(bytes: Array(path.bytes.dropLast(suffix.utf8.count)))
            return isDatabase(database)
        }
        return false
    }

    /// Copies the database into a new file in `folder` and returns its path (the caller
    /// removes it). - Throws: when SQLite cannot read it (the caller then reads the file as is).
    static func copy(_ path: RawPath, into folder: RawPath) throws -> RawPath {
        try FileIO.makeDirectories(folder, mode: 0o700)
        let target = folder.appending("db-\(UInt64.random(in: 0...UInt64.max)).sqlite")
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        let source = try DatabaseQueue(path: path.description, configuration: configuration)
        let destination = try DatabaseQueue(path: target.description)
        do {
            try source.backup(to: destination)
            try destination.close()
            try source.close()
        } catch {
            try? destination.close()
            try? source.close()
            _ = target.withCString { unlink($0) }
            throw error
        }
        return target
    }
}
