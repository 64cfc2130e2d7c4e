import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// Packs as files under `<root>/packs/<last 2 hex>/<32 hex>`. A pack being written is appended to in
/// place and made durable with fdatasync(2) as often as the store flushes, so many small puts
/// never mean many small synchronous writes, and a pack grows to its target size across
/// flushes. Its writer holds flock(2) on it: a pack nobody holds was left by a killed writer.
package struct FilePackShelf: PackShelf {
    package let root: RawPath
    /// Read descriptors of recently read packs: a collection reads hundreds of thousands of
    /// object headers, a restore every object, mostly from the same few packs.
    let descriptors = PackDescriptors()

    package init(root: RawPath) { self.root = root }

    package var appendsAfterSync: Bool { true }

    /// Gaps up to 256 KiB are read through (one pread of a few more pages beats a second call),
    /// 8 MiB at most a read: a fetch answer is at most 32 MiB.
    package var coalescing: ReadCoalescing { ReadCoalescing(gap: 256 << 10, limit: 8 << 20) }

    func path(_ name: PackName) -> RawPath { root.appending(name.folderPath) }

    package func key(_ name: PackName) -> StoreKey { try! StoreKey(name.folderPath) }

    package func create(_ name: PackName) throws -> any PackAppender {
        let file = path(name)
        do {
            try FileIO.makeDirectories(file.parent, mode: 0o700)
            let fd = try FileIO.open(file, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o444)
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let error = SystemError("flock", path: name.folderPath)
                close(fd)
                throw error
            }
            let appender = FilePackAppender(name: name, file: file, descriptor: fd)
            _ = try PackLayout.magic.withUnsafeBytes { try appender.append([$0]) }
            return appender
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: name.folderPath)
        }
    }

    /// Reads in place: object headers, read by the hundred thousand while collecting.
    package func read(_ name: PackName, range: Range<Int>) async throws -> [UInt8] {
        try readNow(name, range: range, into: FileIO.readUninitialized)
    }

    /// Reads straight into the caller's buffer, on a blocking thread (a site answering a fetch).
    package func read<Buffer: Sendable>(_ name: PackName, range: Range<Int>,
                                        into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        let shelf = self
        return try await BlockingWork.run { try shelf.readNow(name, range: range, into: make) }
    }

    /// `range` of the pack, clamped to its size, into a buffer `make` makes.
    private func readNow<Buffer>(_ name: PackName, range: Range<Int>,
                                 into make: (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) throws -> Buffer {
        try opened(name) { fd in
            let clamped = range.clamped(to: 0..<(try FileIO.size(fd, limit: Int.max, path: name.folderPath)))
            return try make(clamped.count) { room in
                try FileIO.preadFull(fd, into: UnsafeMutableRawBufferPointer(rebasing: room[..<clamped.count]),
                                     at: Int64(clamped.lowerBound), path: name.folderPath)
            }
        }
    }

    private func opened<T>(_ name: PackName, _ body: (Int32) throws -> T) throws -> T {
        do {
            let descriptor = try descriptors.open(name) { try FileIO.open(path(name), flags: O_RDONLY) }
            return try body(descriptor.fd)
        } catch let error as SystemError where error.isNotFound {
            throw StoreError.notFound(try StoreKey(name.folderPath))
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: name.folderPath)
        }
    }

    package func size(_ name: PackName) async throws -> Int? {
        var st = stat()
        if path(name).withCString({ stat($0, &st) }) == 0 { return Int(st.st_size) }
        if errno == ENOENT { return nil }
        throw FileSystemStore.translate(SystemError("stat", path: name.folderPath), context: name.folderPath)
    }

    /// Every file of every fan-out folder, filtered by start time: folders are not sorted by it.
    package func names(startedSince seconds: Int) async throws -> [PackName] {
        let folder = root.appending("packs")
        var names: [PackName] = []
        do {
            for fan in try FileIO.directoryEntries(folder) {
                for entry in try FileIO.directoryEntries(folder.appending(fan)) {
                    if let name = PackName(hex: String(decoding: entry, as: UTF8.self)), name.startedAt >= seconds { names.append(name) }
                }
            }
        } catch let error as SystemError where error.isNotFound {
            return []
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: "packs")
        }
        return names.sorted()
    }

    package func delete(_ name: PackName) async throws {
        descriptors.forget(name)
        if path(name).withCString({ unlink($0) }) != 0 && errno != ENOENT {
            throw FileSystemStore.translate(SystemError("unlink", path: name.folderPath), context: name.folderPath)
        }
    }

    package func isAbandoned(_ name: PackName) async throws -> Bool {
        let fd = path(name).withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return true }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) == 0
    }
}

/// An open read descriptor, closed when the last user lets go of it (after it left the cache).
final class PackDescriptor: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// Up to `capacity` read descriptors of packs, the least recently used dropped first. Packs
/// never change a byte once written, so a descriptor stays valid; one opened on a pack being
/// appended to sees the appended bytes (`pread` reads the file, not a snapshot).
final class PackDescriptors: Sendable {
    static let capacity = 64
    private let state = Mutex<(open: [PackName: PackDescriptor], order: [PackName])>(([:], []))

    func open(_ name: PackName, _ opening: () throws -> Int32) throws -> PackDescriptor {
        if let descriptor = state.withLock({ state -> PackDescriptor? in
            guard let descriptor = state.open[name] else { return nil }
            if state.order.last != name, let at = state.order.lastIndex(of: name) {
                state.order.remove(at: at)
                state.order.append(name)
            }
            return descriptor
        }) { return descriptor }
        let descriptor = PackDescriptor(try opening())
        return state.withLock { state in
            if let existing = state.open[name] { return existing }
            state.open[name] = descriptor
            state.order.append(name)
            if state.order.count > Self.capacity { state.open[state.order.removeFirst()] = nil }
            return descriptor
        }
    }

    func forget(_ name: PackName) {
        state.withLock { state in
            guard state.open.removeValue(forKey: name) != nil else { return }
            state.order.removeAll { $0 == name }
        }
    }
}

/// A pack file being appended to. The descriptor, its flock and the write position sit in a
/// `Mutex`; the store serialises appends, the mutex makes `sync` safe beside them.
final class FilePackAppender: PackAppender {
    let name: PackName
    let file: RawPath
    private let state: Mutex<(descriptor: Int32, size: Int, syncedDirectory: Bool)>

    init(name: PackName, file: RawPath, descriptor: Int32) {
        self.name = name
        self.file = file
        state = Mutex((descriptor, 0, false))
    }

    deinit { abandon() }

    var size: Int { state.withLock { $0.size } }

    func append(_ parts: [UnsafeRawBufferPointer]) throws -> Int {
        try state.withLock { state in
            guard state.descriptor >= 0 else { throw StoreError.io("\(name.folderPath): appended after finish") }
            let start = state.size
            let position = start + parts.reduce(0) { $0 + $1.count }
            do {
                try FileIO.pwriteAll(state.descriptor, parts, at: Int64(start), path: name.folderPath)
            } catch let error as SystemError {
                // A torn record stays beyond `size`: the next append writes over it.
                throw FileSystemStore.translate(error, context: name.folderPath)
            }
            state.size = position
            return start
        }
    }

    func pendingBytes(_ range: Range<Int>) -> [UInt8]? { nil }

    func sync() async throws {
        let (fd, needsDirectory) = state.withLock { ($0.descriptor, !$0.syncedDirectory) }
        guard fd >= 0 else { return }
        let file = self.file
        let name = self.name
        do {
            try await BlockingWork.run {
                guard fdatasync(fd) == 0 else { throw SystemError("fdatasync", path: name.folderPath) }
                // The pack's directory entry (and a fan-out folder made for it) must last too.
                if needsDirectory {
                    try FileIO.syncDirectory(file.parent)
                    try FileIO.syncDirectory(file.parent.parent)
                }
            }
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: name.folderPath)
        }
        if needsDirectory { state.withLock { $0.syncedDirectory = true } }
    }

    func finish() async throws {
        try await sync()
        abandon()
    }

    func abandon() {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
            state.descriptor = -1
        }
    }
}
