import CSkiffSystem
import Glibc
import Logging
import SkiffCore
import SkiffStorage
import SkiffSystem
import Synchronization

/// Rebuilds a snapshot's tree (or part of it) in a target folder, verifying every object.
///
/// Safety: everything is created relative to directory descriptors with O_NOFOLLOW, and
/// names are single components checked by the decoder, so a hostile snapshot cannot write
/// outside the target: no "..", no '/', and no path through a symlink.
/// Order: file content, then owner, mode, extended attributes, then times; a directory's
/// own metadata is set after everything inside it.
package final class RestoreEngine: Sendable {
    package let reader: ObjectReader
    package let options: RestoreOptions
    let logger: Logger
    let journal: RestoreJournal?
    /// Files and bytes done so far, for progress displays.
    package let filesDone = Atomic<Int>(0)
    package let bytesDone = Atomic<Int64>(0)
    private let report = Mutex(RestoreReport())
    private let hardlinks = Mutex<[HardlinkKey: [UInt8]]>([:])
    /// Reads of directories (by the scout, the look-ahead or the restore) until the restore
    /// finished them, and the directories it finished (never read ahead again).
    let scoutedDirectories = Mutex<(reads: [ObjectAddress: Task<[TreeEntry], any Error>], finished: Set<ObjectAddress>)>(([:], []))
    /// Entries the scouted directories hold (read, not yet finished by the restore).
    let scoutedEntryCount = Atomic<Int>(0)
    private let fileSlots: AsyncSemaphore
    /// Files being written now, for their share of the read-ahead.
    private let filesWriting = Atomic<Int>(0)
    private let effectiveUID = geteuid()
    private let effectiveGID = getegid()
    static let maxListedProblems = 200

    /// - Parameter journal: records progress so that an interrupted restore resumes.
    package init(reader: ObjectReader, options: RestoreOptions, logger: Logger, journal: RestoreJournal? = nil) {
        self.reader = reader
        self.options = options
        self.logger = logger
        self.journal = journal
        fileSlots = AsyncSemaphore(permits: max(1, options.parallelFiles))
    }

    /// Restores the tree whose "/" node is `root` into `target` (created if missing).
    /// With `subPath`, only that file or subtree, at its full path under `target`.
    package func restore(root: ObjectAddress, into target: RawPath, subPath: RawPath? = nil) async throws -> RestoreReport {
        if FileIO.exists(target) && !FileIO.isDirectory(target) { throw RestoreError.targetNotDirectory(target.description) }
        try journal?.claimTargetIfEmpty(target)
        try FileIO.makeDirectories(target)
        let rootDescriptor = try FileIO.open(target, flags: O_RDONLY | O_DIRECTORY)
        defer { close(rootDescriptor) }
        var entries = try await entries(of: root, at: "/")
        var descriptor = rootDescriptor
        var relative: [UInt8] = []
        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }
        if let subPath {
            let parts = subPath.normalized.components
            for (index, part) in parts.enumerated() {
                guard let entry = entries.first(where: { $0.name == part }) else {
                    throw RestoreError.pathNotInSnapshot(subPath.description)
                }
                if index == parts.count - 1 {
                    entries = [entry]
                    break
                }
                guard case .subtree(let address) = entry.content else { throw RestoreError.pathNotInSnapshot(subPath.description) }
                guard let next = try openOrMakeDirectory(descriptor, part, display: "/" + String(decoding: relative + [0x2f] + part, as: UTF8.self)) else {
                    return report.withLock { $0 }
                }
                opened.append(next)
                descriptor = next
                relative = relative.isEmpty ? part : relative + [0x2f] + part
                entries = try await self.entries(of: address, at: "/" + String(decoding: relative, as: UTF8.self))
            }
        }
        let scout = options.readAheadBytes > 0 ? Task { [entries] in try? await scoutDirectories(entries) } : nil
        let readAhead = options.readAheadBytes > 0 ? Task { [entries, relative] in try? await lookAhead(entries, relative: relative) } : nil
        try await withCleanup {
            try await restoreEntries(entries, in: descriptor, relative: relative, root: rootDescriptor)
        } cleanup: {
            // The look-ahead ends before what it prefetched is dropped, so nothing stays behind.
            scout?.cancel()
            readAhead?.cancel()
            await scout?.value
            await readAhead?.value
            reader.discardAllPrefetched()
            for read in scoutedDirectories.withLock({ state in defer { state = ([:], []) }; return Array(state.reads.values) }) { read.cancel() }
            scoutedEntryCount.store(0, ordering: .relaxed)
        }
        try journal?.flush()
        return report.withLock { report in
            report.badCopies = reader.badCopies
            return report
        }
    }

    private func entries(of address: ObjectAddress, at display: String) async throws -> [TreeEntry] {
        do {
            guard options.readAheadBytes > 0, let read = scouted(address) else { return try await reader.directoryEntries(address) }
            return try await read.value
        } catch let error as ObjectError {
            throw RestoreError.object(path: display, error)
        }
    }

    private func note(_ problem: String) {
        report.withLock { report in
            report.notRestoredCount += 1
            if report.notRestored.count < Self.maxListedProblems { report.notRestored.append(problem) }
        }
    }

    private func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    // MARK: Walking

    private func restoreEntries(_ entries: [TreeEntry], in directory: Int32, relative: [UInt8], root: Int32) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for entry in entries {
                let path = relative.isEmpty ? entry.name : relative + [0x2f] + entry.name
                let display = "/" + String(decoding: path, as: UTF8.self)
                switch entry.type {
                case .directory:
                    try await restoreDirectory(entry, in: directory, relative: path, display: display, root: root)
                case .regular:
                    if let journal, journal.isDone(path), exists(entry.name, in: directory) {
                        dropReadAhead(of: entry)
                        if let key = entry.hardlink { hardlinks.withLock { $0[key] = $0[key] ?? path } }
                        report.withLock { $0.resumedFiles += 1 }
                        filesDone.add(1, ordering: .relaxed)
                        bytesDone.add(Int64(entry.size), ordering: .relaxed)
                        continue
                    }
                    if let key = entry.hardlink, let first = hardlinks.withLock({ $0[key] }) {
                        if try link(first, to: entry, in: directory, path: path, display: display, root: root) {
                            dropReadAhead(of: entry)
                            continue
                        }
                    }
                    guard let fd = try createFile(entry, in: directory, path: path, display: display) else {
                        dropReadAhead(of: entry)
                        continue
                    }
                    if let key = entry.hardlink { hardlinks.withLock { $0[key] = $0[key] ?? path } }
                    await fileSlots.acquire()
                    group.addTask {
                        defer {
                            close(fd)
                            self.fileSlots.release()
                        }
                        try await self.writeContent(entry, to: fd, display: display)
                        self.applyMetadata(entry, descriptor: fd, directory: directory, display: display)
                        self.report.withLock { $0.files += 1 }
                        self.filesDone.add(1, ordering: .relaxed)
                        try self.journal?.markDone(path, bytes: entry.size)
                    }
                case .symlink:
                    try restoreSymlink(entry, in: directory, path: path, display: display)
                case .fifo, .characterDevice, .blockDevice:
                    try restoreSpecial(entry, in: directory, path: path, display: display)
                case .socket:
                    note("\(display): sockets are recreated by the programs that own them, not restored")
                }
            }
            try await group.waitForAll()
        }
    }

    private func restoreDirectory(_ entry: TreeEntry, in directory: Int32, relative: [UInt8], display: String, root: Int32) async throws {
        guard case .subtree(let address) = entry.content else { return }
        guard let fd = try openOrMakeDirectory(directory, entry.name, display: display) else { return }
        defer { close(fd) }
        let children = try await entries(of: address, at: display)
        try await restoreEntries(children, in: fd, relative: relative, root: root)
        if options.readAheadBytes > 0 { await finishScouted(address) }
        applyMetadata(entry, descriptor: fd, directory: directory, display: display)
        report.withLock { $0.directories += 1 }
    }

    /// Creates (or, when it is a real directory, reuses) `name` and opens it without
    /// following symlinks. Returns nil (noted) when a non-directory is in the way.
    private func openOrMakeDirectory(_ directory: Int32, _ name: [UInt8], display: String) throws -> Int32? {
        let cName = RawPath(bytes: name)
        let made = cName.withCString { mkdirat(directory, $0, 0o700) }
        if made != 0 && errno != EEXIST { throw SystemError("mkdir", path: display) }
        let fd = cName.withCString { openat(directory, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if fd >= 0 { return fd }
        guard errno == ENOTDIR || errno == ELOOP else { throw SystemError("open", path: display) }
        guard options.overwrite else {
            report.withLock { $0.skippedExisting.append(display) }
            return nil
        }
        guard cName.withCString({ unlinkat(directory, $0, 0) }) == 0, cName.withCString({ mkdirat(directory, $0, 0o700) }) == 0 else {
            throw SystemError("replace with directory", path: display)
        }
        let again = cName.withCString { openat(directory, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard again >= 0 else { throw SystemError("open", path: display) }
        return again
    }

    private func exists(_ name: [UInt8], in directory: Int32) -> Bool {
        var st = stat()
        return RawPath(bytes: name).withCString { fstatat(directory, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
    }

    /// Makes room for a new entry: true when `name` is free, after removing an existing
    /// non-directory that `overwrite` allows or that an interrupted attempt of this restore
    /// created; false when it must be left alone (listed in the report). Records in the
    /// journal, before the entry is created, that this restore creates it.
    private func makeRoom(_ name: [UInt8], in directory: Int32, path: [UInt8], display: String) throws -> Bool {
        var st = stat()
        let present = RawPath(bytes: name).withCString { fstatat(directory, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
        if present {
            let ours = (journal?.wasStarted(path) ?? false) && !(journal?.wasSkipped(path) ?? false)
            guard options.overwrite || ours, (st.st_mode & S_IFMT) != S_IFDIR else {
                report.withLock { $0.skippedExisting.append(display) }
                if !(journal?.wasSkipped(path) ?? true) { try journal?.markSkipped(path) }
                return false
            }
            guard RawPath(bytes: name).withCString({ unlinkat(directory, $0, 0) }) == 0 else { throw SystemError("remove", path: display) }
        }
        try journal?.markStarted(path)
        return true
    }

    // MARK: Files

    /// Creates a file for `entry`. When nothing needs recording before it is created (no
    /// journal, or a target that is the restore's own), the name is tried first and
    /// `makeRoom` runs only if it is taken: one system call per file on an empty target.
    private func createFile(_ entry: TreeEntry, in directory: Int32, path: [UInt8], display: String) throws -> Int32? {
        let name = RawPath(bytes: entry.name)
        func create() -> Int32 { name.withCString { openat(directory, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) } }
        if journal?.ownsTarget ?? true {
            let fd = create()
            if fd >= 0 { return fd }
            guard errno == EEXIST else { throw SystemError("create", path: display) }
        }
        guard try makeRoom(entry.name, in: directory, path: path, display: display) else { return nil }
        let fd = create()
        guard fd >= 0 else { throw SystemError("create", path: display) }
        return fd
    }

    /// Links a further name of a hard-linked inode to its first restored name. Returns false
    /// when linking failed and the content must be written as a separate file.
    private func link(_ first: [UInt8], to entry: TreeEntry, in directory: Int32, path: [UInt8], display: String, root: Int32) throws -> Bool {
        guard try makeRoom(entry.name, in: directory, path: path, display: display) else { return true }
        let rc = RawPath(bytes: first).withCString { from in RawPath(bytes: entry.name).withCString { linkat(root, from, directory, $0, 0) } }
        if rc == 0 {
            report.withLock { $0.hardlinks += 1 }
            filesDone.add(1, ordering: .relaxed)
            try journal?.markDone(path, bytes: 0)
            return true
        }
        note("\(display): hard link to /\(String(decoding: first, as: UTF8.self)) failed (\(errnoText())); restored as a copy")
        return false
    }

    /// Writes a file's data runs at their offsets (several chunks at once), leaves holes
    /// unwritten so they stay holes, and sets the final size. The file was created empty.
    private func writeContent(_ entry: TreeEntry, to fd: Int32, display: String) async throws {
        let runs = try await reader.runs(of: entry, display: display)
        // With read-ahead, the file's next chunks are asked for together: a quarter of the
        // read-ahead bytes beyond those being written, half of them for a file that starts
        // alone (a large file far from its site then keeps twice as much in flight). At most
        // 8 files hold 2.25 times the read-ahead between them.
        let alone = filesWriting.add(1, ordering: .relaxed).newValue == 1
        defer { filesWriting.subtract(1, ordering: .relaxed) }
        try await reader.forEachChunk(of: runs.filter { $0.chunk != nil }, parallel: options.parallelChunks,
                                      readAheadBytes: options.readAheadBytes / (alone ? 2 : 4), display: display) { run, bytes in
            try bytes.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: Int64(run.offset), path: display) }
            return bytes.count
        } collect: { written in
            report.withLock { $0.bytesWritten += Int64(written) }
            bytesDone.add(Int64(written), ordering: .relaxed)
            return true
        }
        // The size is set only when the data written does not reach it (a trailing hole).
        let dataEnd = runs.last { $0.chunk != nil }.map { $0.offset + $0.length } ?? 0
        if dataEnd != entry.size, ftruncate(fd, off_t(entry.size)) != 0 { throw SystemError("truncate", path: display) }
    }

    // MARK: Other types

    private func restoreSymlink(_ entry: TreeEntry, in directory: Int32, path: [UInt8], display: String) throws {
        guard try makeRoom(entry.name, in: directory, path: path, display: display) else { return }
        let rc = RawPath(bytes: entry.linkTarget).withCString { target in RawPath(bytes: entry.name).withCString { symlinkat(target, directory, $0) } }
        guard rc == 0 else { throw SystemError("symlink", path: display) }
        applyMetadata(entry, descriptor: nil, directory: directory, display: display)
        report.withLock { $0.symlinks += 1 }
    }

    private func restoreSpecial(_ entry: TreeEntry, in directory: Int32, path: [UInt8], display: String) throws {
        guard try makeRoom(entry.name, in: directory, path: path, display: display) else { return }
        let type: mode_t
        switch entry.type {
        case .fifo: type = S_IFIFO
        case .characterDevice: type = S_IFCHR
        default: type = S_IFBLK
        }
        let rc = RawPath(bytes: entry.name).withCString { mknodat(directory, $0, type | mode_t(entry.permissions & 0o777), dev_t(entry.deviceNumber)) }
        guard rc == 0 else {
            if errno == EPERM {
                note("\(display): \(entry.type) \(skiff_major(entry.deviceNumber)):\(skiff_minor(entry.deviceNumber)) not created (\(errnoText(EPERM)); needs root)")
                return
            }
            throw SystemError("mknod", path: display)
        }
        applyMetadata(entry, descriptor: nil, directory: directory, display: display)
        report.withLock { $0.specialFiles += 1 }
    }

    // MARK: Metadata

    /// Owner, mode, extended attributes, then times. Through `descriptor` when there is one
    /// (files, directories), else by name relative to `directory` without following symlinks.
    private func applyMetadata(_ entry: TreeEntry, descriptor: Int32?, directory: Int32, display: String) {
        let name = RawPath(bytes: entry.name)
        if options.restoreOwnership {
            var uid = entry.uid, gid = entry.gid
            if options.ownersByName {
                if let user = entry.userName, let mapped = AccountNames.uid(named: user) { uid = mapped }
                if let group = entry.groupName, let mapped = AccountNames.gid(named: group) { gid = mapped }
            }
            let rc = descriptor.map { fchown($0, uid, gid) } ?? name.withCString { fchownat(directory, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }
            if rc != 0 { note("\(display): owner \(uid):\(gid) not set (\(errnoText()))") }
        } else if entry.uid != effectiveUID || entry.gid != effectiveGID {
            note("\(display): owner \(entry.uid):\(entry.gid) not set (not running as root)")
        }
        if entry.type != .symlink {
            let rc = descriptor.map { fchmod($0, mode_t(entry.permissions)) } ?? name.withCString { fchmodat(directory, $0, mode_t(entry.permissions), 0) }
            if rc != 0 { note("\(display): mode \(String(entry.permissions, radix: 8)) not set (\(errnoText()))") }
        }
        for attribute in entry.extendedAttributes {
            let attributeName = RawPath(bytes: attribute.name)
            let rc: Int32 = attribute.value.withUnsafeBytes { value in
                attributeName.withCString { cAttribute in
                    if let descriptor { return skiff_fsetxattr(descriptor, cAttribute, value.baseAddress, value.count) }
                    let viaProc = RawPath("/proc/self/fd/\(directory)").appending(entry.name)
                    return viaProc.withCString { skiff_lsetxattr($0, cAttribute, value.baseAddress, value.count) }
                }
            }
            if rc != 0 { note("\(display): extended attribute \(attributeName) not set (\(errnoText()))") }
        }
        var times = [
            timespec(tv_sec: Int(entry.accessTime.seconds), tv_nsec: Int(entry.accessTime.nanoseconds)),
            timespec(tv_sec: Int(entry.modificationTime.seconds), tv_nsec: Int(entry.modificationTime.nanoseconds)),
        ]
        let rc = descriptor.map { futimens($0, &times) } ?? name.withCString { utimensat(directory, $0, &times, AT_SYMLINK_NOFOLLOW) }
        if rc != 0 { note("\(display): times not set (\(errnoText()))") }
    }
}
