import CSkiffSystem
import Glibc

/// The fields of lstat(2) that backup and restore use, with nanosecond times.
package struct FileStatus: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var mode: UInt32
    package var linkCount: UInt64
    package var uid: UInt32
    package var gid: UInt32
    package var rdev: UInt64
    package var size: Int64
    /// 512-byte blocks allocated (st_blocks).
    package var blocks: Int64
    package var accessSeconds: Int64
    package var accessNanoseconds: UInt32
    package var modificationSeconds: Int64
    package var modificationNanoseconds: UInt32
    package var changeSeconds: Int64
    package var changeNanoseconds: UInt32

    package init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        mode = UInt32(st.st_mode)
        linkCount = UInt64(st.st_nlink)
        uid = st.st_uid
        gid = st.st_gid
        rdev = UInt64(st.st_rdev)
        size = Int64(st.st_size)
        blocks = Int64(st.st_blocks)
        accessSeconds = Int64(st.st_atim.tv_sec)
        accessNanoseconds = UInt32(st.st_atim.tv_nsec)
        modificationSeconds = Int64(st.st_mtim.tv_sec)
        modificationNanoseconds = UInt32(st.st_mtim.tv_nsec)
        changeSeconds = Int64(st.st_ctim.tv_sec)
        changeNanoseconds = UInt32(st.st_ctim.tv_nsec)
    }

    package var fileType: UInt32 { mode & UInt32(S_IFMT) }
    package var isDirectory: Bool { fileType == UInt32(S_IFDIR) }
    package var isRegular: Bool { fileType == UInt32(S_IFREG) }
    package var isSymlink: Bool { fileType == UInt32(S_IFLNK) }
    package var permissions: UInt32 { mode & 0o7777 }

    package var modificationNanosecondsSinceEpoch: Int64 { modificationSeconds &* 1_000_000_000 &+ Int64(modificationNanoseconds) }
    package var changeNanosecondsSinceEpoch: Int64 { changeSeconds &* 1_000_000_000 &+ Int64(changeNanoseconds) }

    /// lstat(2): does not follow a final symlink.
    package static func lstat(_ path: RawPath) throws -> FileStatus {
        var st = stat()
        guard path.withCString({ Glibc.lstat($0, &st) }) == 0 else { throw SystemError("lstat", path: path.description) }
        return FileStatus(st)
    }

    package static func fstat(_ fd: Int32, path: @autoclosure () -> String) throws -> FileStatus {
        var st = stat()
        guard Glibc.fstat(fd, &st) == 0 else { throw SystemError("fstat", path: path()) }
        return FileStatus(st)
    }
}

/// Extended attributes, read and written without following symlinks.
package enum ExtendedAttributes {
    /// Every attribute of `path` as (name, value), names sorted. Filesystems without
    /// xattr support give an empty list.
    package static func read(_ path: RawPath) throws -> [(name: [UInt8], value: [UInt8])] {
        var listBuffer = [CChar](repeating: 0, count: 4096)
        var length: Int
        while true {
            length = path.withCString { skiff_llistxattr($0, &listBuffer, listBuffer.count) }
            if length >= 0 { break }
            if errno == ERANGE {
                let needed = path.withCString { skiff_llistxattr($0, nil, 0) }
                listBuffer = [CChar](repeating: 0, count: max(Int(needed), listBuffer.count * 2))
                continue
            }
            if errno == ENOTSUP || errno == EOPNOTSUPP { return [] }
            throw SystemError("listxattr", path: path.description)
        }
        var result: [(name: [UInt8], value: [UInt8])] = []
        let names = listBuffer[0..<length].split(separator: 0).map { $0.map { UInt8(bitPattern: $0) } }
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) where !name.isEmpty {
            guard let value = try value(path, name: name) else { continue }
            result.append((name, value))
        }
        return result
    }

    /// One attribute's value, or nil when it vanished between listing and reading.
    static func value(_ path: RawPath, name: [UInt8]) throws -> [UInt8]? {
        let cName = RawPath(bytes: name)
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = path.withCString { p in cName.withCString { skiff_lgetxattr(p, $0, &buffer, buffer.count) } }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == ENODATA { return nil }
            if errno == ERANGE {
                let needed = path.withCString { p in cName.withCString { skiff_lgetxattr(p, $0, nil, 0) } }
                buffer = [UInt8](repeating: 0, count: max(Int(needed), buffer.count * 2))
                continue
            }
            throw SystemError("getxattr \(String(decoding: name, as: UTF8.self))", path: path.description)
        }
    }

    package static func set(_ path: RawPath, name: [UInt8], value: [UInt8]) throws {
        let rc = path.withCString { p in
            RawPath(bytes: name).withCString { n in value.withUnsafeBytes { skiff_lsetxattr(p, n, $0.baseAddress, $0.count) } }
        }
        guard rc == 0 else { throw SystemError("setxattr \(String(decoding: name, as: UTF8.self))", path: path.description) }
    }
}

package enum SymbolicLink {
    package static func target(_ path: RawPath) throws -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = path.withCString { readlink($0, &buffer, buffer.count) }
        guard n >= 0 else { throw SystemError("readlink", path: path.description) }
        return buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
}
