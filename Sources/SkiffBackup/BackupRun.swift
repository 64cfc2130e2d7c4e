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

    // MARK: Nodes

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
