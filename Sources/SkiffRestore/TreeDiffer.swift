import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem

/// Compares a folder against a snapshot: types, content (read back and compared with the
/// verified chunks), sizes, symlink targets, device numbers, permissions, owners, modification
/// times to the nanosecond, extended attributes, hard links and holes.
package struct TreeDiffer: Sendable {
    package struct Options: Sendable {
        /// Compare uid and gid (only meaningful when the restore set them, i.e. as root).
        package var compareOwners = geteuid() == 0
        /// Files whose content is compared at once: their reads, started together, reach a
        /// site in few requests.
        package var parallelFiles = 32
        /// Chunks read and compared at once within one large file.
        package var parallelChunks = 4
        /// Chunks in memory at once across all files (each at most the chunker's largest chunk,
        /// held with the file's bytes it is compared with).
        package var chunksInMemory = 16
        /// Bytes of upcoming files' first objects (a small file's only chunk, a large file's
        /// content list) read ahead together, in groups of up to `readAheadFiles` files and half
        /// these bytes, so that a site gets them in few requests. 0: each object is read when
        /// it is compared (right for local repositories).
        package var readAheadBytes = 0
        /// Most files whose first objects are read ahead in one group.
        package var readAheadFiles = 64
        package init() {}
    }

    package let reader: ObjectReader
    package let options: Options

    package init(reader: ObjectReader, options: Options = Options()) {
        self.reader = reader
        self.options = options
    }

    /// Every difference between the snapshot (rooted at `root`, optionally only `subPath`)
    /// and `directory`, where the snapshot's "/" corresponds to `directory` (as restore lays
    /// it out), in the order of the snapshot. Empty when identical. Entries in `directory`
    /// that the snapshot lacks are reported too.
    ///
    /// Metadata is compared during the walk; the content of up to `parallelFiles` files at
    /// once, while the walk goes on. With read-ahead, files are started in groups whose first
    /// objects are asked for together.
    package func differences(root: ObjectAddress, subPath: RawPath?, directory: RawPath) async throws -> [String] {
        // Problems with the walk position of their entry, sorted by it at the end.
        var problems: [(position: Int, text: String)] = []
        var seen = Set<[UInt8]>()
        var links: [HardlinkKey: (device: UInt64, inode: UInt64)] = [:]
        let walker = SnapshotWalker(reader: reader, prefetchesDirectories: true)
        let chunkSlots = AsyncSemaphore(permits: max(1, options.chunksInMemory))
        let readsAhead = options.readAheadBytes > 0
        defer { if readsAhead { reader.discardAllPrefetched() } }
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var comparing = 0
            var waiting: [QueuedFile] = []
            var waitingBytes = 0
            /// Reads the waiting files' first objects ahead (one request) and starts their
            /// comparisons as slots free up.
            func startWaiting() async throws {
                if readsAhead { reader.prefetch(waiting.compactMap(\.entry.firstObject)) }
                for file in waiting {
                    while comparing >= max(1, options.parallelFiles), let (position, problem) = try await group.next() {
                        comparing -= 1
                        if let problem { problems.append((position, problem)) }
                    }
                    comparing += 1
                    group.addTask { (file.position, try await compareContent(file, slots: chunkSlots)) }
                }
                waiting.removeAll(keepingCapacity: true)
                waitingBytes = 0
            }
            var position = 0
            try await walker.walk(root: root, subPath: subPath) { relative, entry in
                position += 1
                seen.insert(relative)
                let display = "/" + String(decoding: relative, as: UTF8.self)
                let local = directory.appending(relative)
                let found = compareMetadata(entry, local: local, display: display)
                problems += found.problems.map { (position, $0) }
                guard let status = found.status else { return }
                switch entry.type {
                case .regular:
                    if let key = entry.hardlink {
                        if let first = links[key], first != (status.device, status.inode) {
                            problems.append((position, "\(display): not the same file as its hard links"))
                        }
                        links[key] = links[key] ?? (status.device, status.inode)
                    }
                    let file = QueuedFile(position: position, entry: entry, local: local, status: status, display: display)
                    waiting.append(file)
                    waitingBytes += entry.firstObject?.expected ?? 0
                    if !readsAhead || waiting.count >= options.readAheadFiles || waitingBytes >= options.readAheadBytes / 2 {
                        try await startWaiting()
                    }
                case .symlink:
                    if (try? SymbolicLink.target(local)) != entry.linkTarget { problems.append((position, "\(display): symlink target differs")) }
                case .characterDevice, .blockDevice:
                    if status.rdev != entry.deviceNumber { problems.append((position, "\(display): device number differs")) }
                default:
                    break
                }
            }
            try await startWaiting()
            while let (position, problem) = try await group.next() {
                if let problem { problems.append((position, problem)) }
            }
        }
        var extra: [String] = []
        try extraEntries(directory, subPath: subPath, seen: seen, into: &extra)
        return problems.enumerated().sorted { ($0.element.position, $0.offset) < ($1.element.position, $1.offset) }.map(\.element.text) + extra
    }

    /// A regular file whose content is to be compared.
    struct QueuedFile: Sendable {
        let position: Int
        let entry: TreeEntry
        let local: RawPath
        let status: FileStatus
        let display: String
    }

    /// Type, mode, owners, modification time and extended attributes of one entry; the
    /// entry's status unless it is missing or of another type.
    private func compareMetadata(_ entry: TreeEntry, local: RawPath, display: String) -> (status: FileStatus?, problems: [String]) {
        guard let status = try? FileStatus.lstat(local) else { return (nil, ["\(display): missing"]) }
        guard EntryType(mode: status.mode) == entry.type else {
            return (nil, ["\(display): is a \(EntryType(mode: status.mode).map { "\($0)" } ?? "?"), the snapshot has a \(entry.type)"])
        }
        var problems: [String] = []
        if entry.type != .symlink && status.permissions != entry.permissions {
            problems.append("\(display): mode \(String(status.permissions, radix: 8)), the snapshot has \(String(entry.permissions, radix: 8))")
        }
        if options.compareOwners && (status.uid != entry.uid || status.gid != entry.gid) {
            problems.append("\(display): owner \(status.uid):\(status.gid), the snapshot has \(entry.uid):\(entry.gid)")
        }
        if entry.type != .directory && entry.type != .symlink
            && (status.modificationSeconds != entry.modificationTime.seconds || status.modificationNanoseconds != entry.modificationTime.nanoseconds) {
            problems.append("\(display): modified \(status.modificationSeconds).\(status.modificationNanoseconds), the snapshot has \(entry.modificationTime.seconds).\(entry.modificationTime.nanoseconds)")
        }
        let xattrs = (try? ExtendedAttributes.read(local)) ?? []
        if xattrs.map({ ExtendedAttribute(name: $0.name, value: $0.value) }) != entry.extendedAttributes {
            problems.append("\(display): extended attributes differ")
        }
        return (status, problems)
    }

    /// Reads the file back and compares it with the snapshot's verified chunks (several at
    /// once); holes must read as zeros. The first difference found is reported (the lowest
    /// offset among the chunks compared when it was found).
    private func compareContent(_ file: QueuedFile, slots: AsyncSemaphore) async throws -> String? {
        let (entry, local, display) = (file.entry, file.local, file.display)
        guard UInt64(file.status.size) == entry.size else {
            if let first = entry.firstObject { reader.discardPrefetched([first.address]) }
            return "\(display): \(file.status.size) bytes, the snapshot has \(entry.size)"
        }
        let runs = try await reader.runs(of: entry, display: display)
        let fd = try FileIO.open(local, flags: O_RDONLY)
        defer { close(fd) }
        for run in runs where run.chunk == nil {
            if let offset = try Self.firstNonZero(fd, in: run.offset..<run.offset + run.length, path: display) {
                return "\(display): data where the snapshot has a hole at offset \(offset)"
            }
        }
        var first: (offset: UInt64, problem: String)?
        // A file's later chunks are read ahead too, a share of the read-ahead per file compared.
        try await reader.forEachChunk(of: runs.filter { $0.chunk != nil }, parallel: options.parallelChunks,
                                      readAheadBytes: options.readAheadBytes / max(1, options.parallelFiles / 2),
                                      slots: slots, display: display) { run, expected -> (UInt64, String)? in
            let actual = try FileIO.readUninitialized(expected.count) { try FileIO.preadFull(fd, into: $0, at: Int64(run.offset), path: display) }
            if actual.count < expected.count { return (run.offset, "\(display): shorter than the snapshot") }
            return Self.sameBytes(actual, expected) ? nil : (run.offset, "\(display): content differs at offset \(run.offset)")
        } collect: { difference in
            guard let difference else { return true }
            if first == nil || difference.0 < first!.offset { first = difference }
            return false
        }
        return first?.problem
    }

    /// Equal contents (memcmp: `==` on arrays compares byte by byte).
    static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { a in b.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }

    /// The offset of the first non-zero byte in `range` of the file, nil when it reads as
    /// zeros. Parts the filesystem keeps as holes are skipped without reading them.
    static func firstNonZero(_ fd: Int32, in range: Range<UInt64>, path: String) throws -> UInt64? {
        var position = range.lowerBound
        let piece = 1 << 20
        var buffer = [UInt8](repeating: 0, count: piece)
        var seeking = true
        while position < range.upperBound {
            if seeking {
                let data = skiff_seek_data(fd, off_t(position))
                if data >= 0 {
                    position = UInt64(data)
                    guard position < range.upperBound else { return nil }
                } else if errno == ENXIO {
                    return nil  // only a hole up to the end of the file
                } else {
                    seeking = false  // the filesystem cannot tell holes: read everything
                }
            }
            let want = Int(min(UInt64(piece), range.upperBound - position))
            let read = try buffer.withUnsafeMutableBytes {
                try FileIO.preadFull(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: Int64(position), path: path)
            }
            guard read > 0 else { return nil }
            if let index = buffer[..<read].firstIndex(where: { $0 != 0 }) { return position + UInt64(index) }
            position += UInt64(read)
        }
        return nil
    }

    /// Entries present in the folder but not in the snapshot.
    private func extraEntries(_ directory: RawPath, subPath: RawPath?, seen: Set<[UInt8]>, into problems: inout [String]) throws {
        func scan(_ relative: [UInt8]) throws {
            let folder = relative.isEmpty ? directory : directory.appending(relative)
            guard let names = try? FileIO.directoryEntries(folder) else { return }
            for name in names {
                let path = relative.isEmpty ? name : relative + [0x2f] + name
                if !seen.contains(path) {
                    problems.append("/" + String(decoding: path, as: UTF8.self) + ": not in the snapshot")
                    continue
                }
                if let status = try? FileStatus.lstat(directory.appending(path)), status.isDirectory { try scan(path) }
            }
        }
        let start = subPath.map { Array($0.normalized.components.joined(separator: [0x2f])) } ?? []
        if start.isEmpty {
            try scan([])
        } else if let status = try? FileStatus.lstat(directory.appending(start)), status.isDirectory {
            try scan(start)
        }
    }
}
