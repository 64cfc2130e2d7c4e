import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// One backup run: the session's encoders, the chunker and the bounded file workers.
final class BackupRun: Sendable {
    let writer: SnapshotWriter
    let pool: EncoderPool
    let chunker: ContentDefinedChunker
    let pagedChunkSize: Int
    let compression: CompressionAlgorithm
    let fileSlots: AsyncSemaphore
    /// Subdirectories walked concurrently with their siblings. A directory takes a slot only
    /// when one is free and is otherwise walked inline, so the bound cannot deadlock.
    let directorySlots: AsyncSemaphore
    let boundaryKey: SecretBytes
    /// What each directory walked (or reused) holds, until its parent adds it to its own.
    let subtreeCounts = Mutex<[[UInt8]: LocalCache.SubtreeCounts]>([:])

    static let sqliteMagic = Array("SQLite format 3\0".utf8)

    init(writer: SnapshotWriter, session: WriteSession) throws {
        self.writer = writer
        pool = EncoderPool(session: session)
        chunker = try session.config.contentDefinedChunker(secrets: writer.hostKey.writeSecrets)
        pagedChunkSize = session.config.pagedChunkSize
        compression = session.config.compression
        fileSlots = AsyncSemaphore(permits: max(1, writer.options.parallelFiles))
        directorySlots = AsyncSemaphore(permits: max(1, writer.options.parallelFiles))
        boundaryKey = writer.hostKey.writeSecrets.boundaryKey
    }

    var statistics: BackupStatistics { writer.statistics }
    var options: BackupOptions { writer.options }

    // MARK: Storing

    /// Sends an object to the destination and records it for deduplication.
    func upload(_ object: EncodedObject) async throws {
        if try await writer.destination.put(object) {
            statistics.objectsStored.add(1, ordering: .relaxed)
            statistics.bytesStored.add(object.bytes.count, ordering: .relaxed)
        }
        writer.ledger.recordStored(object)
        if writer.ledger.bytesSinceCheckpoint >= options.checkpointBytes || writer.ledger.pendingRecords >= options.checkpointRecords {
            try writer.ledger.checkpointInBackground(writer.destination)
        }
    }

    /// Emits a Merkle node: reuses a stored node with the same identity, or encodes a new one
    /// into `pending` (uploaded by the caller).
    func emitNode(_ kind: ObjectKind, _ children: [ObjectAddress], _ body: [UInt8], into pending: inout [EncodedObject]) throws -> EmittedNode {
        try pool.withEncoder { encoder in
            let identity = body.withUnsafeBytes { encoder.identity(kind: kind, children: children, body: $0) }
            if let address = try writer.ledger.address(for: identity) ?? pending.first(where: { $0.identity == identity })?.address {
                statistics.nodesReused.add(1, ordering: .relaxed)
                return EmittedNode(address: address, identity: identity)
            }
            let object = try body.withUnsafeBytes {
                try encoder.encode(kind: kind, children: children, body: $0, identity: identity, compression: compression)
            }
            pending.append(object)
            statistics.nodesNew.add(1, ordering: .relaxed)
            return EmittedNode(address: object.address, identity: identity)
        }
    }

    // MARK: Trees

    /// Backs up `targets` under a tree for "/" that holds only the directories leading to them.
    func backupTree(targets: [RawPath]) async throws -> EmittedNode {
        try await virtualDirectory(RawPath("/"), targets: targets)
    }

    /// A directory on the way to the targets: its real metadata, only the entries leading on.
    private func virtualDirectory(_ path: RawPath, targets: [RawPath]) async throws -> EmittedNode {
        let depth = path.components.count
        var nextNames: [[UInt8]] = []
        for target in targets where target.components.count > depth {
            let name = target.components[depth]
            if nextNames.last != name { nextNames.append(name) }
        }
        nextNames.sort { $0.lexicographicallyPrecedes($1) }
        var entries: [TreeEntry] = []
        for name in nextNames {
            let child = path.appending(name)
            let status = try FileStatus.lstat(child)
            if targets.contains(child) {
                if let entry = try await backupEntry(child, name: name, status: status, rootDevice: status.device) {
                    entries.append(entry)
                }
            } else {
                let below = targets.filter { $0.components.starts(with: child.components) }
                var entry = try TreeEntry.metadata(name: name, path: child, status: status, accounts: writer.accounts)
                guard status.isDirectory else { continue }
                entry.content = .subtree(try await virtualDirectory(child, targets: below).address)
                statistics.directories.add(1, ordering: .relaxed)
                entries.append(entry)
            }
        }
        if targets.contains(path) {
            // "/" itself was given: walk it completely.
            let status = try FileStatus.lstat(path)
            return try await directoryNode(path, status: status, rootDevice: status.device)
        }
        return try await buildTree(entries)
    }

    /// The entry for one path given on the command line, or found in a walk.
    private func backupEntry(_ path: RawPath, name: [UInt8], status: FileStatus, rootDevice: UInt64) async throws -> TreeEntry? {
        if status.isDirectory {
            statistics.directories.add(1, ordering: .relaxed)
            var entry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
            entry.content = .subtree(try await directoryNode(path, status: status, rootDevice: rootDevice).address)
            return entry
        }
        if status.isRegular {
            let liveDatabase = options.databaseCaptureFolder != nil && DatabaseCapture.hasJournal(path)
            if !liveDatabase, let cached = try cachedFile(path, name: name, status: status) { return cached }
            return try await backupFile(path, name: name, status: status, liveDatabaseCandidate: liveDatabase)
        }
        statistics.otherEntries.add(1, ordering: .relaxed)
        return try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
    }

    /// Walks a real directory: lists it, backs up its entries (files in parallel, bounded),
    /// recurses into subdirectories, then builds its node.
    private func directoryNode(_ path: RawPath, status: FileStatus, rootDevice: UInt64) async throws -> EmittedNode {
        var names: [[UInt8]] = []
        if options.oneFileSystem && status.device != rootDevice {
            names = []
        } else if options.isCacheDirectory(path) {
            names = [Array("CACHEDIR.TAG".utf8)]
        } else {
            do {
                names = try FileIO.directoryEntries(path, preservingAccessTime: true).sorted { $0.lexicographicallyPrecedes($1) }
            } catch let error as SystemError {
                writer.warn("cannot list \(path): \(error.message)")
            }
        }
        let journaled = options.databaseCaptureFolder == nil ? [] : DatabaseCapture.journaledNames(names)
        var entries = [TreeEntry?](repeating: nil, count: names.count)
        try await withThrowingTaskGroup(of: (Int, TreeEntry?).self) { group in
            for (index, name) in names.enumerated() {
                let child = path.appending(name)
                if options.isExcluded(path: child, name: name) { continue }
                if options.databaseCaptureFolder != nil && DatabaseCapture.isCoveredSidecar(child, name: name) { continue }
                let childStatus: FileStatus
                do {
                    childStatus = try FileStatus.lstat(child)
                } catch let error as SystemError {
                    if !error.isNotFound { writer.warn("cannot stat \(child): \(error.message)") }
                    continue
                }
                if childStatus.isDirectory {
                    statistics.directories.add(1, ordering: .relaxed)
                    if let reused = try reusableSubtree(child, name: name, status: childStatus) {
                        entries[index] = reused
                        continue
                    }
                    if directorySlots.tryAcquire() {
                        group.addTask {
                            defer { self.directorySlots.release() }
                            return (index, try await self.subdirectoryEntry(child, name: name, status: childStatus, rootDevice: rootDevice))
                        }
                    } else {
                        entries[index] = try await subdirectoryEntry(child, name: name, status: childStatus, rootDevice: rootDevice)
                    }
                } else if childStatus.isRegular {
                    // A database with a journal changes without touching its own file: never from the cache.
                    let liveDatabase = journaled.contains(name)
                    if !liveDatabase, let cached = try cachedFile(child, name: name, status: childStatus) {
                        entries[index] = cached
                        continue
                    }
                    await fileSlots.acquire()
                    group.addTask {
                        defer { self.fileSlots.release() }
                        return (index, try await self.backupFile(child, name: name, status: childStatus, liveDatabaseCandidate: liveDatabase))
                    }
                } else {
                    do {
                        entries[index] = try TreeEntry.metadata(name: name, path: child, status: childStatus, accounts: writer.accounts)
                        statistics.otherEntries.add(1, ordering: .relaxed)
                    } catch let error as SystemError {
                        if !error.isNotFound { writer.warn("cannot read \(child): \(error.message)") }
                    }
                }
            }
            for try await (index, entry) in group { entries[index] = entry }
        }
        let built = entries.compactMap { $0 }
        var counts = LocalCache.SubtreeCounts()
        for entry in built {
            switch entry.type {
            case .regular:
                counts.files += 1
                counts.bytes += Int(entry.size)
            case .directory:
                counts.directories += 1
                counts = counts + (subtreeCounts.withLock { $0.removeValue(forKey: path.appending(entry.name).bytes) } ?? .init())
            default:
                counts.others += 1
            }
        }
        let node = try await buildTree(built)
        subtreeCounts.withLock { $0[path.bytes] = counts }
        writer.ledger.recordSubtree(LocalCache.SubtreeRecord(
            path: path.bytes, inode: status.inode, modificationTime: status.modificationNanosecondsSinceEpoch,
            changeTime: status.changeNanosecondsSinceEpoch, address: node.address, counts: counts))
        return node
    }

    /// The previous subtree of a directory the agent saw no change in, when the cache has it
    /// for this very directory (same inode, mtime and ctime); its contents are counted as
    /// seen and unchanged without being walked.
    private func reusableSubtree(_ path: RawPath, name: [UInt8], status: FileStatus) throws -> TreeEntry? {
        guard let unchanged = options.unchangedDirectories, unchanged(path),
              let record = try writer.ledger.cache.subtree(path: path.bytes), record.inode == status.inode,
              record.modificationTime == status.modificationNanosecondsSinceEpoch, record.changeTime == status.changeNanosecondsSinceEpoch
        else { return nil }
        var entry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
        entry.content = .subtree(record.address)
        statistics.filesSeen.add(record.counts.files, ordering: .relaxed)
        statistics.filesUnchanged.add(record.counts.files, ordering: .relaxed)
        statistics.directories.add(record.counts.directories, ordering: .relaxed)
        statistics.otherEntries.add(record.counts.others, ordering: .relaxed)
        statistics.logicalBytes.add(record.counts.bytes, ordering: .relaxed)
        statistics.subtreesReused.add(1, ordering: .relaxed)
        subtreeCounts.withLock { $0[path.bytes] = record.counts }
        return entry
    }

    /// The entry of a subdirectory found in a walk, its tree stored; nil (with a warning) when
    /// it cannot be read.
    private func subdirectoryEntry(_ path: RawPath, name: [UInt8], status: FileStatus, rootDevice: UInt64) async throws -> TreeEntry? {
        do {
            var entry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
            entry.content = .subtree(try await directoryNode(path, status: status, rootDevice: rootDevice).address)
            return entry
        } catch let error as SystemError {
            writer.warn("cannot read \(path): \(error.message)")
            return nil
        }
    }

    /// Builds (and uploads) the node or nodes of one directory from its sorted entries.
    private func buildTree(_ entries: [TreeEntry]) async throws -> EmittedNode {
        var pending: [EncodedObject] = []
        var builder = TreeBuilder(boundaryMAC: HMACSHA256(key: boundaryKey))
        for entry in entries {
            try builder.append(entry) { try emitNode($0, $1, $2, into: &pending) }
        }
        let node = try builder.finish { try emitNode($0, $1, $2, into: &pending) }
        for object in pending { try await upload(object) }
        return node
    }

    // MARK: Files

    /// The entry of an unchanged file, from the cache, without reading it.
    private func cachedFile(_ path: RawPath, name: [UInt8], status: FileStatus) throws -> TreeEntry? {
        guard writer.ledger.hasCachedFiles, let record = try writer.ledger.cache.file(path: path.bytes),
              record.inode == status.inode, record.size == status.size,
              record.modificationTime == status.modificationNanosecondsSinceEpoch,
              record.changeTime == status.changeNanosecondsSinceEpoch, record.mode == status.mode
        else { return nil }
        var entry: TreeEntry
        do {
            entry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
        } catch let error as SystemError {
            if !error.isNotFound { writer.warn("cannot read \(path): \(error.message)") }
            return nil
        }
        entry.content = record.content
        statistics.filesSeen.add(1, ordering: .relaxed)
        statistics.filesUnchanged.add(1, ordering: .relaxed)
        statistics.logicalBytes.add(Int(status.size), ordering: .relaxed)
        return entry
    }

    /// Reads, chunks and stores one file. A file that changes while it is read is read again
    /// (up to three times); then the last read is kept and a warning recorded.
    /// Returns nil (with a warning) when the file cannot be read.
    /// `liveDatabaseCandidate`: a `-wal` or `-journal` file sits beside it (see `DatabaseCapture`).
    private func backupFile(_ path: RawPath, name: [UInt8], status: FileStatus, liveDatabaseCandidate: Bool) async throws -> TreeEntry? {
        if liveDatabaseCandidate, let folder = options.databaseCaptureFolder, DatabaseCapture.isDatabase(path) {
            do {
                return try await backupDatabaseCopy(path, name: name, folder: folder)
            } catch {
                writer.warn("\(path): no consistent copy through SQLite (\(error)); stored the file as it was read")
            }
        }
        do {
            for attempt in 1...3 {
                let fd = try openForReading(path)
                defer { close(fd) }
                let before = try FileStatus.fstat(fd, path: path.description)
                guard before.isRegular else { return nil }
                let (content, length) = try await readContent(fd, path: path, status: before)
                let after = try FileStatus.fstat(fd, path: path.description)
                let stable = after.size == before.size && length == before.size
                    && after.modificationNanosecondsSinceEpoch == before.modificationNanosecondsSinceEpoch
                    && after.changeNanosecondsSinceEpoch == before.changeNanosecondsSinceEpoch
                guard stable || attempt == 3 else { continue }
                let entry = try readFileEntry(name: name, path: path, status: after, content: content, length: length)
                if stable {
                    writer.ledger.recordFile(.init(
                        path: path.bytes, device: after.device, inode: after.inode, size: after.size,
                        modificationTime: after.modificationNanosecondsSinceEpoch, changeTime: after.changeNanosecondsSinceEpoch,
                        mode: after.mode, content: content))
                } else {
                    statistics.filesChangedWhileRead.add(1, ordering: .relaxed)
                    writer.warn("\(path) kept changing while it was read; stored its last reading")
                }
                return entry
            }
        } catch let error as SystemError {
            if !error.isNotFound { writer.warn("cannot read \(path): \(error.message)") }
        }
        return nil
    }

    /// Stores a consistent copy of a live database under the database's name and metadata.
    /// Not recorded in the file cache: a WAL database changes without touching its main file.
    private func backupDatabaseCopy(_ path: RawPath, name: [UInt8], folder: RawPath) async throws -> TreeEntry? {
        let original = try FileStatus.lstat(path)
        let copy = try DatabaseCapture.copy(path, into: folder)
        defer { _ = copy.withCString { unlink($0) } }
        let fd = try FileIO.open(copy, flags: O_RDONLY)
        defer { close(fd) }
        let status = try FileStatus.fstat(fd, path: copy.description)
        let (content, length) = try await readContent(fd, path: path, status: status)
        return try readFileEntry(name: name, path: path, status: original, content: content, length: length)
    }

    /// The entry of a file just read: its metadata with the content and length read, counted.
    private func readFileEntry(name: [UInt8], path: RawPath, status: FileStatus, content: ContentReference, length: Int64) throws -> TreeEntry {
        var entry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts)
        entry.size = UInt64(length)
        entry.content = content
        statistics.filesSeen.add(1, ordering: .relaxed)
        statistics.filesRead.add(1, ordering: .relaxed)
        statistics.logicalBytes.add(Int(length), ordering: .relaxed)
        return entry
    }

    /// Opens with O_NOATIME where allowed (owner or CAP_FOWNER), so reading does not change
    /// the access time that the next snapshot records.
    private func openForReading(_ path: RawPath) throws -> Int32 {
        do {
            return try FileIO.open(path, flags: O_RDONLY | O_NOFOLLOW | skiff_o_noatime())
        } catch let error as SystemError where error.errno == EPERM {
            return try FileIO.open(path, flags: O_RDONLY | O_NOFOLLOW)
        }
    }

    /// Reads a file's data runs in windows, cuts chunks, encodes the new ones in parallel and
    /// builds its content list. Returns the content reference and the bytes covered.
    private func readContent(_ fd: Int32, path: RawPath, status: FileStatus) async throws -> (ContentReference, Int64) {
        let segments = FileSegments.of(fd, status: status)
        var builder = ContentListBuilder()
        var pending: [EncodedObject] = []
        var policy = ChunkingPolicy.contentDefined(chunker)
        var total: Int64 = 0
        let largestData = segments.filter { !$0.isHole }.map(\.length).max() ?? 0
        let capacity = Int(min(Int64(options.readWindow + chunker.parameters.maxSize), max(largestData, 1)))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var checkedFormat = false

        for segment in segments {
            if segment.isHole {
                try builder.appendHole(length: UInt64(segment.length)) { try emitNode($0, $1, $2, into: &pending) }
                total += segment.length
                continue
            }
            var offset = segment.offset
            let end = segment.offset + segment.length
            var carry = 0
            while true {
                let want = min(buffer.count - carry, Int(end - offset))
                let got = want > 0
                    ? try FileIO.preadFull(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[carry..<carry + want]), at: offset, path: path.description)
                    : 0
                offset += Int64(got)
                statistics.bytesRead.add(got, ordering: .relaxed)
                let available = carry + got
                let isFinal = offset >= end || got < want
                if !checkedFormat {
                    checkedFormat = true
                    if segment.offset == 0, available >= 16, Array(UnsafeRawBufferPointer(rebasing: buffer[0..<16])) == Self.sqliteMagic {
                        policy = .fixed(size: pagedChunkSize)
                    }
                }
                var cuts: [Range<Int>] = []
                var position = 0
                while position < available,
                      let length = policy.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: buffer[position..<available]), isFinal: isFinal) {
                    cuts.append(position..<position + length)
                    position += length
                }
                let outcomes = try await storeChunks(UnsafeRawBufferPointer(buffer), cuts: cuts)
                for outcome in outcomes {
                    if outcome.isNew {
                        statistics.chunksNew.add(1, ordering: .relaxed)
                    } else {
                        statistics.chunksDeduplicated.add(1, ordering: .relaxed)
                        statistics.bytesDeduplicated.add(outcome.length, ordering: .relaxed)
                    }
                    try builder.appendData(length: outcome.length, address: outcome.address, identity: outcome.identity) {
                        try emitNode($0, $1, $2, into: &pending)
                    }
                }
                total += Int64(position)
                carry = available - position
                if isFinal { break }
                if carry > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: carry) }
            }
        }
        let content = try builder.finish { try emitNode($0, $1, $2, into: &pending) }
        for object in pending { try await upload(object) }
        return (content, total)
    }

    struct ChunkOutcome: Sendable {
        var length: Int
        var identity: ObjectIdentity
        var address: ObjectAddress
        /// The chunk was new and has been stored.
        var isNew: Bool
    }

    /// A read-only view of a buffer that outlives the child tasks reading it.
    /// `@unchecked Sendable` is safe: the parent awaits every child before it writes to or
    /// frees the buffer, and children only read.
    struct SharedBuffer: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
    }

    /// Identity, deduplication, encoding and upload of each cut, in parallel when there are
    /// several, so that both the CPU work and the kernel's work of storing use every core.
    private func storeChunks(_ buffer: UnsafeRawBufferPointer, cuts: [Range<Int>]) async throws -> [ChunkOutcome] {
        if cuts.count <= 1 {
            var outcomes: [ChunkOutcome] = []
            for cut in cuts { outcomes.append(try await storeChunk(UnsafeRawBufferPointer(rebasing: buffer[cut]))) }
            return outcomes
        }
        let shared = SharedBuffer(bytes: buffer)
        var outcomes = [ChunkOutcome?](repeating: nil, count: cuts.count)
        try await withThrowingTaskGroup(of: (Int, ChunkOutcome).self) { group in
            for (index, cut) in cuts.enumerated() {
                group.addTask { (index, try await self.storeChunk(UnsafeRawBufferPointer(rebasing: shared.bytes[cut]))) }
            }
            for try await (index, outcome) in group { outcomes[index] = outcome }
        }
        return outcomes.map { $0! }
    }

    private func storeChunk(_ bytes: UnsafeRawBufferPointer) async throws -> ChunkOutcome {
        let (outcome, object) = try encodeChunk(bytes)
        if let object { try await upload(object) }
        return outcome
    }

    private func encodeChunk(_ bytes: UnsafeRawBufferPointer) throws -> (ChunkOutcome, EncodedObject?) {
        try pool.withEncoder { encoder in
            let identity = encoder.identity(kind: .chunk, children: [], body: bytes)
            if let address = try writer.ledger.address(for: identity) {
                return (ChunkOutcome(length: bytes.count, identity: identity, address: address, isNew: false), nil)
            }
            let object = try encoder.encode(kind: .chunk, children: [], body: bytes, identity: identity, compression: compression)
            return (ChunkOutcome(length: bytes.count, identity: identity, address: object.address, isNew: true), object)
        }
    }
}
