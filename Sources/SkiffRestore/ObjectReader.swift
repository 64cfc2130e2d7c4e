import SkiffCore
import SkiffStorage
import Synchronization

/// A decrypted, checked object.
package struct OpenedObject: Sendable {
    package var header: ObjectHeader
    package var body: [UInt8]
}

/// Reads objects with the tenant's restore key and checks each one completely before it is
/// used: address (SHA-256 of the bytes), header and kind, AEAD under its session key (with
/// kind, identity and children bound), and keyed identity of the plaintext.
///
/// Session keys are unwrapped once and kept in memory for the reader's lifetime.
package final class ObjectReader: Sendable {
    package let repository: Repository
    let restoreKey: RestoreKey
    private let decoders: DecoderPool
    private let sessionKeys = Mutex<[ObjectAddress: SecretBytes]>([:])
    package let bytesFetched = Atomic<Int>(0)

    package init(repository: Repository, restoreKey: RestoreKey) {
        self.repository = repository
        self.restoreKey = restoreKey
        decoders = DecoderPool(identityKey: restoreKey.writeSecrets.identityKey)
    }

    /// Fetches and checks an object; the body is decrypted and decompressed.
    /// - Throws: `ObjectError` naming the object (missing, corrupt, wrong kind, tampered),
    ///   `KeyError.wrongTenantKey` when it belongs to another tenant.
    package func open(_ address: ObjectAddress, expecting kind: ObjectKind) async throws -> OpenedObject {
        let bytes = try await repository.objectBytes(address)
        bytesFetched.add(bytes.count, ordering: .relaxed)
        let header = try decoders.withDecoder { decoder in
            try decoder.checkAddress(bytes, address)
            return try decoder.header(of: bytes, address: address, expecting: kind)
        }
        guard let keyAddress = header.sessionKeyAddress else {
            throw ObjectError.unexpectedKind(address, expected: kind, actual: header.kind)
        }
        let dataKey = try await sessionKey(keyAddress)
        let body = try decoders.withDecoder { try $0.openBody(bytes, header: header, address: address, dataKey: dataKey) }
        return OpenedObject(header: header, body: body)
    }

    /// Session key objects opened so far.
    package var sessionKeyAddresses: Set<ObjectAddress> { sessionKeys.withLock { Set($0.keys) } }

    /// The data key in a session key object, unwrapped with the tenant's X25519 key.
    package func sessionKey(_ address: ObjectAddress) async throws -> SecretBytes {
        if let key = sessionKeys.withLock({ $0[address] }) { return key }
        let bytes = try await repository.objectBytes(address)
        bytesFetched.add(bytes.count, ordering: .relaxed)
        try decoders.withDecoder { try $0.checkAddress(bytes, address) }
        let key = try SessionKeyEnvelope.open(bytes, address: address, with: restoreKey.decryptionKey)
        sessionKeys.withLock { $0[address] = key }
        return key
    }

    package func snapshot(_ address: ObjectAddress) async throws -> SnapshotRecord {
        let object = try await open(address, expecting: .snapshot)
        return try decode(address) { try SnapshotRecord.decode(body: object.body, children: object.header.children) }
    }

    package func treeNode(_ address: ObjectAddress) async throws -> TreeNode {
        let object = try await open(address, expecting: .tree)
        return try decode(address) { try TreeNode.decode(body: object.body, children: object.header.children) }
    }

    /// All entries of the directory whose (root) node is at `address`, following index
    /// nodes in order.
    package func directoryEntries(_ address: ObjectAddress) async throws -> [TreeEntry] {
        switch try await treeNode(address) {
        case .entries(let entries):
            return entries
        case .index(let items):
            var all: [TreeEntry] = []
            for item in items { all += try await directoryEntries(item.address) }
            return all
        }
    }

    package func contentList(_ address: ObjectAddress) async throws -> ContentListNode {
        let object = try await open(address, expecting: .contentList)
        return try decode(address) { try ContentListNode.decode(body: object.body, children: object.header.children) }
    }

    /// The data and hole runs of a file, flattened from its content list, with offsets.
    package func fileRuns(_ content: ContentReference, size: UInt64) async throws -> [FileRun] {
        switch content {
        case .none, .subtree:
            return []
        case .chunk(let address):
            return [FileRun(offset: 0, length: size, chunk: address)]
        case .list(let address):
            var runs: [FileRun] = []
            var offset: UInt64 = 0
            try await appendRuns(address, offset: &offset, into: &runs)
            return runs
        }
    }

    private func appendRuns(_ address: ObjectAddress, offset: inout UInt64, into runs: inout [FileRun]) async throws {
        let node = try await contentList(address)
        for item in node.items {
            switch item {
            case .data(let length, let chunk):
                runs.append(FileRun(offset: offset, length: length, chunk: chunk))
                offset += length
            case .hole(let length):
                runs.append(FileRun(offset: offset, length: length, chunk: nil))
                offset += length
            case .node(let length, let child):
                let start = offset
                try await appendRuns(child, offset: &offset, into: &runs)
                guard offset - start == length else {
                    throw ObjectError.malformed(address, .invalid("content list", "child covers \(offset - start) bytes, node says \(length)"))
                }
            }
        }
    }

    /// A chunk's plaintext, checked against the length the content list gives.
    package func chunk(_ address: ObjectAddress, length: UInt64) async throws -> [UInt8] {
        let object = try await open(address, expecting: .chunk)
        guard UInt64(object.body.count) == length else {
            throw ObjectError.malformed(address, .invalid("chunk", "holds \(object.body.count) bytes, content list says \(length)"))
        }
        return object.body
    }

    private func decode<T>(_ address: ObjectAddress, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FormatError { throw ObjectError.malformed(address, error) }
    }
}

/// A run of a file to restore: data from a chunk, or a hole (`chunk` nil).
package struct FileRun: Equatable, Sendable {
    package var offset: UInt64
    package var length: UInt64
    package var chunk: ObjectAddress?
}
