import Glibc

/// A directory held open while its entries are decided: listed once, then each entry's
/// status taken relative to it (`fstatat`), so the kernel resolves one name, not the whole
/// path, per entry. Closed when the last reference goes.
package final class OpenDirectory: Sendable {
    package let path: RawPath
    private let descriptor: Int32

    /// Opens `path` (O_NOATIME where allowed with `preservingAccessTime`, so listing it does
    /// not change the access time a backup records).
    package init(_ path: RawPath, preservingAccessTime: Bool) throws {
        self.path = path
        descriptor = try FileIO.openDirectory(path, preservingAccessTime: preservingAccessTime)
    }

    deinit { close(descriptor) }

    /// The names in it, without "." and "..", unsorted. Each call lists it afresh.
    package func names() throws -> [[UInt8]] {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw SystemError("dup", path: path.description) }
        // A duplicate shares the file offset: list from the start.
        lseek(copy, 0, SEEK_SET)
        return try FileIO.entries(ofOpened: copy, path: path).map(\.name)
    }

    /// lstat(2) of the entry `name`, without following a final symlink; errors name `child`.
    package func status(of name: [UInt8], child: @autoclosure () -> RawPath) throws -> FileStatus {
        var st = stat()
        let rc = RawPath(bytes: name).withCString { fstatat(descriptor, $0, &st, AT_SYMLINK_NOFOLLOW) }
        guard rc == 0 else { throw SystemError("lstat", path: child().description) }
        return FileStatus(st)
    }
}
