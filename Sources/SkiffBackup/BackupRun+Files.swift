import CSkiffSystem
import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// Files in a backup run: reuse from the cache, reading with holes, chunking, and storing the
/// chunks (identity, deduplication, encoding, upload), several at a time.
extension BackupRun {

    /// An unchanged file, from its directory's cached listing, without reading it: nil unless
    /// the listing holds the name with the same stamp and a reusable content.
    func unchangedFile(name: [UInt8], status: FileStatus, listing: CachedListing?) -> WalkedEntry? {
        guard let listing, let index = listing.index(of: name), listing.stamp(at: index) == EntryStamp(status),
              let content = listing.content(at: index)
        else { return nil }
        statistics.filesSeen.add(1, ordering: .relaxed)
        statistics.filesUnchanged.add(1, ordering: .relaxed)
        statistics.logicalBytes.add(Int(status.size), ordering: .relaxed)
        return WalkedEntry(name: name, status: status, content: content, isUnchanged: true)
    }

    /// Reads, chunks and stores one file. A file that changes while it is read is read again
    /// (up to three times); then the last read is kept and a warning recorded.
    /// Returns nil (with a warning) when the file cannot be read.
    /// `liveDatabaseCandidate`: a `-wal` or `-journal` file sits beside it (see `DatabaseCapture`).
    func backupFile(_ path: RawPath, name: [UInt8], status: FileStatus, liveDatabaseCandidate: Bool) async throws -> WalkedEntry? {
        if liveDatabaseCandidate, let folder = options.databaseCaptureFolder, DatabaseCapture.isDatabase(path) {
            do {
                return try await backupDatabaseCopy(path, name: name, folder: folder).map {
                    WalkedEntry(name: name, status: status, content: $0.content, treeEntry: $0, isReusable: false)
                }
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
                if !stable {
                    statistics.filesChangedWhileRead.add(1, ordering: .relaxed)
                    writer.warn("\(path) kept changing while it was read; stored its last reading")
                }
                // A database's file alone does not say when it changes: never reused.
                return WalkedEntry(name: name, status: after, content: content, treeEntry: entry, isReusable: stable && !liveDatabaseCandidate)
            }
        } catch let error as SystemError {
            if !error.isNotFound { writer.warn("cannot read \(path): \(error.message)") }
        }
        return nil
    }

    /// Stores a consistent copy of a live database under the database's name and metadata.
    /// Not recorded in the file cache: a WAL database changes without touching its main file.
    func backupDatabaseCopy(_ path: RawPath, name: [UInt8], folder: RawPath) async throws -> TreeEntry? {
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
    func readFileEntry(name: [UInt8], path: RawPath, status: FileStatus, content: ContentReference, length: Int64) throws -> TreeEntry {
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
    func openForReading(_ path: RawPath) throws -> Int32 {
        do {
            return try FileIO.open(path, flags: O_RDONLY | O_NOFOLLOW | skiff_o_noatime())
        } catch let error as SystemError where error.errno == EPERM {
            return try FileIO.open(path, flags: O_RDONLY | O_NOFOLLOW)
        }
    }

    /// Reads a file's data runs in windows, cuts chunks, encodes the new ones in parallel and
    /// builds its content list. Returns the content reference and the bytes covered.
    func readContent(_ fd: Int32, path: RawPath, status: FileStatus) async throws -> (ContentReference, Int64) {
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
    func storeChunks(_ buffer: UnsafeRawBufferPointer, cuts: [Range<Int>]) async throws -> [ChunkOutcome] {
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

    func storeChunk(_ bytes: UnsafeRawBufferPointer) async throws -> ChunkOutcome {
        let (outcome, object) = try encodeChunk(bytes)
        if let object { try await upload(object) }
        return outcome
    }

    func encodeChunk(_ bytes: UnsafeRawBufferPointer) throws -> (ChunkOutcome, EncodedObject?) {
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
