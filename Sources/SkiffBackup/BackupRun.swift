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
    func virtualDirectory(_ path: RawPath, targets: [RawPath]) async throws -> EmittedNode {
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
    func backupEntry(_ path: RawPath, name: [UInt8], status: FileStatus, rootDevice: UInt64) async throws -> TreeEntry? {
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
    func directoryNode(_ path: RawPath, status: FileStatus, rootDevice: UInt64) async throws -> EmittedNode {
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
    func reusableSubtree(_ path: RawPath, name: [UInt8], status: FileStatus) throws -> TreeEntry? {
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
    func subdirectoryEntry(_ path: RawPath, name: [UInt8], status: FileStatus, rootDevice: UInt64) async throws -> TreeEntry? {
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
    func buildTree(_ entries: [TreeEntry]) async throws -> EmittedNode {
        var pending: [EncodedObject] = []
        var builder = TreeBuilder(boundaryMAC: HMACSHA256(key: boundaryKey))
        for entry in entries {
            try builder.append(entry) { try emitNode($0, $1, $2, into: &pending) }
        }
        let node = try builder.finish { try emitNode($0, $1, $2, into: &pending) }
        for object in pending { try await upload(object) }
        return node
    }
}
