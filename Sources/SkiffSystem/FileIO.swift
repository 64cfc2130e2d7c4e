import CSkiffSystem
import Glibc

/// Blocking file operations with errors that name the path.
package enum FileIO {
    /// Opens `path`; the caller closes the descriptor.
    package static func open(_ path: RawPath, flags: Int32, mode: mode_t = 0) throws -> Int32 {
        let fd = path.withCString { p in retryingInterrupts { Glibc.open(p, flags | O_CLOEXEC, mode) } }
        guard fd >= 0 else { throw SystemError("open", path: path.description) }
        return fd
    }

    package static func openAt(_ directory: Int32, _ name: [UInt8], flags: Int32, mode: mode_t = 0, display: @autoclosure () -> String) throws -> Int32 {
        let fd = RawPath(bytes: name).withCString { p in retryingInterrupts { Glibc.openat(directory, p, flags | O_CLOEXEC, mode) } }
        guard fd >= 0 else { throw SystemError("open", path: display()) }
        return fd
    }

    /// Writes every byte, retrying short writes.
    package static func writeAll(_ fd: Int32, _ data: UnsafeRawBufferPointer, path: @autoclosure () -> String) throws {
        var offset = 0
        while offset < data.count {
            let n = retryingInterrupts { Glibc.write(fd, data.baseAddress! + offset, data.count - offset) }
            guard n > 0 else { throw SystemError("write", path: path()) }
            offset += n
        }
    }

    /// Writes every byte at `offset`, retrying short writes.
    package static func pwriteAll(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: Int64, path: @autoclosure () -> String) throws {
        var done = 0
        while done < data.count {
            let n = retryingInterrupts { Glibc.pwrite(fd, data.baseAddress! + done, data.count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { throw SystemError("write", path: path()) }
            done += n
        }
    }

    /// Writes `parts` one after another from `offset` in one `pwritev` when the kernel takes
    /// them whole (a record's header and body: one system call, no copy); a short write (or a
    /// single part) finishes part by part.
    package static func pwriteAll(_ fd: Int32, _ parts: [UnsafeRawBufferPointer], at offset: Int64, path: @autoclosure () -> String) throws {
        var written = 0
        if parts.count > 1, parts.count <= 1024 {
            var vectors = parts.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
            written = retryingInterrupts { vectors.withUnsafeMutableBufferPointer { Glibc.pwritev(fd, $0.baseAddress, Int32($0.count), off_t(offset)) } }
            guard written >= 0 else { throw SystemError("write", path: path()) }
        }
        var position = offset + Int64(written)
        for part in parts {
            guard written < part.count else {
                written -= part.count
                continue
            }
            let rest = UnsafeRawBufferPointer(rebasing: part[written...])
            try pwriteAll(fd, rest, at: position, path: path())
            position += Int64(rest.count)
            written = 0
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    package static func preadFull(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: @autoclosure () -> String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = retryingInterrupts { Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done)) }
            if n == 0 { break }
            guard n > 0 else { throw SystemError("read", path: path()) }
            done += n
        }
        return done
    }

    /// The whole content of the file at `fd` (which must be a regular file under `limit` bytes).
    package static func readAll(_ fd: Int32, limit: Int, path: @autoclosure () -> String) throws -> [UInt8] {
        let size = try size(fd, limit: limit, path: path())
        return try readUninitialized(size) { try preadFull(fd, into: $0, at: 0, path: path()) }
    }

    /// The size of the file at `fd`, which must be at most `limit` bytes (else EFBIG).
    package static func size(_ fd: Int32, limit: Int, path: @autoclosure () -> String) throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("stat", path: path()) }
        let size = Int(st.st_size)
        guard size <= limit else { throw SystemError("read", path: path(), errno: EFBIG) }
        return size
    }

    /// An array of up to `capacity` bytes that `read` fills from the start, returning how many
    /// it wrote; the bytes are not zeroed first (every object a site serves or a restore reads
    /// passes through here).
    package static func readUninitialized(_ capacity: Int, _ read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            initialized = try read(UnsafeMutableRawBufferPointer(buffer))
        }
    }

    package static func readFile(_ path: RawPath, limit: Int = 1 << 30) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        return try readAll(fd, limit: limit, path: path.description)
    }

    /// Writes `data` to `path` (created or truncated), not synced: for caches, which readers
    /// open only once the write returned and which a crash may lose.
    package static func writeFile(_ path: RawPath, _ data: [UInt8], mode: mode_t = 0o600) throws {
        let fd = try open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0, path: path.description) }
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename, fsync
    /// of the directory. The file never appears half written.
    package static func writeFileAtomically(_ path: RawPath, _ data: [UInt8], mode: mode_t = 0o600) throws {
        let temporary = RawPath(bytes: path.bytes + Array(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))".utf8))
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        do {
            try data.withUnsafeBytes { try writeAll(fd, $0, path: temporary.description) }
            guard fsync(fd) == 0 else { throw SystemError("fsync", path: temporary.description) }
            close(fd)
            let rc = temporary.withCString { t in path.withCString { p in rename(t, p) } }
            guard rc == 0 else { throw SystemError("rename", path: path.description) }
        } catch {
            close(fd)
            _ = temporary.withCString { unlink($0) }
            throw error
        }
        try syncDirectory(path.parent)
    }

    package static func syncDirectory(_ path: RawPath) throws {
        let dir = try open(path.bytes.isEmpty ? "." : path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(dir) }
        guard fsync(dir) == 0 else { throw SystemError("fsync", path: path.description) }
    }

    /// mkdir -p.
    package static func makeDirectories(_ path: RawPath, mode: mode_t = 0o755) throws {
        var current = path.isAbsolute ? RawPath(bytes: [0x2f]) : RawPath(bytes: [])
        for part in path.components {
            current = current.appending(part)
            let rc = current.withCString { mkdir($0, mode) }
            if rc != 0 && errno != EEXIST { throw SystemError("mkdir", path: current.description) }
        }
    }

    package static func exists(_ path: RawPath) -> Bool {
        var st = stat()
        return path.withCString { lstat($0, &st) } == 0
    }

    package static func isDirectory(_ path: RawPath) -> Bool {
        var st = stat()
        return path.withCString { stat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory, without "." and "..", unsorted.
    package static func directoryEntries(_ path: RawPath, preservingAccessTime: Bool = false) throws -> [[UInt8]] {
        try directoryEntriesWithTypes(path, preservingAccessTime: preservingAccessTime).map(\.name)
    }

    private static let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// The names in a directory with whether each is a directory (from d_type, with an
    /// lstat fallback on filesystems that do not fill it in), without "." and "..".
    ///
    /// With `preservingAccessTime`, the folder is opened with O_NOATIME where allowed (owner
    /// or CAP_FOWNER), so that listing it does not change the access time a backup records.
    package static func directoryEntriesWithTypes(_ path: RawPath, preservingAccessTime: Bool = false) throws -> [(name: [UInt8], isDirectory: Bool)] {
        try entries(ofOpened: try openDirectory(path, preservingAccessTime: preservingAccessTime), path: path)
    }

    /// Opens a directory for reading (O_NOATIME where allowed, with `preservingAccessTime`).
    package static func openDirectory(_ path: RawPath, preservingAccessTime: Bool) throws -> Int32 {
        var fd: Int32 = -1
        if preservingAccessTime {
            fd = path.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC | skiff_o_noatime()) }
        }
        if fd < 0 { fd = path.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } }
        guard fd >= 0 else { throw SystemError("opendir", path: path.description) }
        return fd
    }

    /// The entries of the open directory `fd`, which it takes over (and closes).
    package static func entries(ofOpened fd: Int32, path: RawPath) throws -> [(name: [UInt8], isDirectory: Bool)] {
        guard let dir = fdopendir(fd) else {
            close(fd)
            throw SystemError("opendir", path: path.description)
        }
        defer { closedir(dir) }
        var entries: [(name: [UInt8], isDirectory: Bool)] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("readdir", path: path.description) }
                break
            }
            // The name is read in place, up to its NUL: copying the 256-byte `d_name` field (or
            // `pointee`) reads past a short record, and past the end of readdir's buffer when
            // that ends a mapped page (a crash, seen listing folders of ~600 objects).
            let namePointer = UnsafeRawPointer(entry).advanced(by: Self.direntNameOffset).assumingMemoryBound(to: CChar.self)
            let name = Array(UnsafeRawBufferPointer(start: namePointer, count: strlen(namePointer)))
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                isDirectory = path.appending(name).withCString { lstat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            entries.append((name, isDirectory))
        }
        return entries
    }

    /// Removes a file or an empty directory; missing is not an error.
    package static func remove(_ path: RawPath) throws {
        let rc = path.withCString { Glibc.remove($0) }
        if rc != 0 && errno != ENOENT { throw SystemError("remove", path: path.description) }
    }

    /// rm -rf.
    package static func removeTree(_ path: RawPath) throws {
        var st = stat()
        guard path.withCString({ lstat($0, &st) }) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("stat", path: path.description)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try directoryEntries(path) { try removeTree(path.appending(name)) }
        }
        try remove(path)
    }
}
