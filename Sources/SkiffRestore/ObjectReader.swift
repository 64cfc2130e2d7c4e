import SkiffCore
import SkiffStorage
import Synchronization

/// A decrypted, checked object.
package struct OpenedObject: Sendable {
    package var header: ObjectHeader
    package var body: [UInt8]
}

/// A copy of an object that a source held but that failed its checks (or lacked), found while
/// reading from several sources: the object was then read from another one.
package struct BadCopy: Sendable, Codable, Equatable, CustomStringConvertible {
    package var source: String
    package var object: String
    package var problem: FindingKind
    package var detail: String

    package var description: String { "\(source): \(detail)" }
}

/// Reads objects with the tenant's restore key and checks each one completely before it is
/// used: address (SHA-256 of the bytes), header and kind, AEAD under its session key (with
/// kind, identity and children bound), and keyed identity of the plaintext.
///
/// With several sources (sites holding the same repository), each object is read from the
/// best source first (fewest failures, then fastest measured); a missing or damaged copy is
/// recorded as a `BadCopy` and the object is read from the next source. Only when every
/// source fails does a read fail. Session keys are unwrapped once and kept in memory.
package final class ObjectReader: Sendable {
    package let repositories: [Repository]
    let restoreKey: RestoreKey
    private let decoders: DecoderPool
    private let sessionKeys = Mutex<[ObjectAddress: SecretBytes]>([:])
    private let ranking: SourceRanking
    private let problems = Mutex<(badCopies: [BadCopy], unreachable: [String: String])>(([], [:]))
    /// Reads started ahead by `prefetch`, by object, with the source they were asked of and the
    /// bytes they are expected to hold.
    private let prefetched = Mutex<[ObjectAddress: (source: Int, expected: Int, bytes: Task<[UInt8], any Error>)]>([:])
    /// Expected bytes of the prefetched objects not read yet.
    package let prefetchedBytes = Atomic<Int>(0)
    package let bytesFetched = Atomic<Int>(0)

    /// The first source (the only one when reading a single repository).
    package var repository: Repository { repositories[0] }

    package convenience init(repository: Repository, restoreKey: RestoreKey) {
        self.init(repositories: [repository], restoreKey: restoreKey)
    }

    /// - Parameters:
    ///   - repositories: the sources, in the order to try first (at least one).
    ///   - order: whether later reads go to the fastest measured source or keep the given order.
    package init(repositories: [Repository], restoreKey: RestoreKey, order: SourceOrder = .fastest) {
        precondition(!repositories.isEmpty)
        self.repositories = repositories
        self.restoreKey = restoreKey
        decoders = DecoderPool(identityKey: restoreKey.writeSecrets.identityKey)
        ranking = SourceRanking(count: repositories.count, policy: order)
    }

    /// Damaged or missing copies found so far (each then read from another source).
    package var badCopies: [BadCopy] { problems.withLock { $0.badCopies } }

    /// Sources that failed to answer, with their last error.
    package var unreachableSources: [String: String] { problems.withLock { $0.unreachable } }

    /// Runs `attempt` against each source in turn until one succeeds. Object errors (the
    /// copy is missing or fails a check) are recorded as bad copies; other errors (the source
    /// did not answer) demote the source. Key errors are not the copy's fault and end the read.
    private func fromSources<T>(_ address: ObjectAddress, _ attempt: (Repository) async throws -> T) async throws -> T {
        var lastError: (any Error)?
        for index in ranking.order() {
            let source = repositories[index]
            do {
                return try await attempt(source)
            } catch let error as ObjectError {
                problems.withLock {
                    $0.badCopies.append(BadCopy(source: source.location, object: error.address.hex, problem: error.kind, detail: error.description))
                }
                lastError = error
            } catch let error as KeyError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                ranking.recordFailure(index)
                problems.withLock { $0.unreachable[source.location] = "\(error)" }
                lastError = error
            }
        }
        throw lastError ?? ObjectError.missing(address)
    }

    /// Starts reading objects from the best source now, without waiting, so that a source
    /// which gathers concurrent reads into one request (a site) carries many of them in one
    /// request. The next read of each object takes its prefetched bytes (once) and checks them
    /// like any other; a prefetched read that failed fails that read, which then goes to the
    /// next source as usual. Objects already prefetched are left alone. Bytes stay in memory
    /// until read or discarded: callers bound them with `prefetchedBytes`, which counts each
    /// object's `expected` size until then.
    package func prefetch(_ objects: some Sequence<(address: ObjectAddress, expected: Int)>) {
        guard let best = ranking.order().first else { return }
        let source = repositories[best]
        prefetched.withLock { table in
            for (address, expected) in objects where table[address] == nil {
                table[address] = (best, expected, Task { try await source.objectBytes(address) })
                prefetchedBytes.add(expected, ordering: .relaxed)
            }
        }
    }

    /// Drops prefetched objects that will not be read after all (idempotent).
    package func discardPrefetched(_ addresses: some Sequence<ObjectAddress>) {
        let dropped = prefetched.withLock { table in addresses.compactMap { table.removeValue(forKey: $0) } }
        for entry in dropped {
            entry.bytes.cancel()
            prefetchedBytes.subtract(entry.expected, ordering: .relaxed)
        }
    }

    /// Drops every prefetched object (the restore ended).
    package func discardAllPrefetched() {
        discardPrefetched(prefetched.withLock { Array($0.keys) })
    }

    /// Reads an object's bytes from `source` (prefetched ones from memory), timing direct
    /// fetches for the ranking.
    private func fetch(_ address: ObjectAddress, from source: Repository) async throws -> [UInt8] {
        let index = repositories.firstIndex(where: { $0.location == source.location })
        let ahead = prefetched.withLock { table -> Task<[UInt8], any Error>? in
            guard let entry = table[address], entry.source == index else { return nil }
            table[address] = nil
            prefetchedBytes.subtract(entry.expected, ordering: .relaxed)
            return entry.bytes
        }
        let bytes: [UInt8]
        if let ahead {
            bytes = try await ahead.value
        } else {
            let started = ContinuousClock.now
            bytes = try await source.objectBytes(address)
            if let index {
                let elapsed = ContinuousClock.now - started
                ranking.recordSuccess(index, bytes: bytes.count, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
        }
        bytesFetched.add(bytes.count, ordering: .relaxed)
        return bytes
    }

    /// Fetches and checks an object; the body is decrypted and decompressed.
    /// - Throws: `ObjectError` naming the object (missing, corrupt, wrong kind, tampered) when
    ///   no source holds a good copy, `KeyError.wrongTenantKey` when it belongs to another tenant.
    package func open(_ address: ObjectAddress, expecting kind: ObjectKind) async throws -> OpenedObject {
        try await fromSources(address) { source in
            let bytes = try await fetch(address, from: source)
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
    }

    /// Session key objects opened so far.
    package var sessionKeyAddresses: Set<ObjectAddress> { sessionKeys.withLock { Set($0.keys) } }

    /// The data key in a session key object, unwrapped with the tenant's X25519 key.
    package func sessionKey(_ address: ObjectAddress) async throws -> SecretBytes {
        if let key = sessionKeys.withLock({ $0[address] }) { return key }
        let key = try await fromSources(address) { source in
            let bytes = try await fetch(address, from: source)
            try decoders.withDecoder { try $0.checkAddress(bytes, address) }
            return try SessionKeyEnvelope.open(bytes, address: address, with: restoreKey.decryptionKey)
        }
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
    /// nodes in order. Index nodes are checked against their children (`TreeNodeSummary`), so
    /// names are unique and in order across the whole directory.
    package func directoryEntries(_ address: ObjectAddress) async throws -> [TreeEntry] {
        var all: [TreeEntry] = []
        _ = try await appendEntries(address, into: &all)
        return all
    }

    /// Appends the entries under the node at `address`; returns its summary (nil when empty).
    private func appendEntries(_ address: ObjectAddress, into all: inout [TreeEntry]) async throws -> TreeNodeSummary? {
        switch try await treeNode(address) {
        case .entries(let entries):
            all += entries
            return TreeNodeSummary(entries: entries)
        case .index(let items):
            var children: [TreeNodeSummary?] = []
            for item in items { children.append(try await appendEntries(item.address, into: &all)) }
            return try decode(address) { try TreeNodeSummary.combining(items, children: children) }
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
        // A large file's list has levels: its child lists are asked for together (one round trip
        // a level from a site), then read in order.
        let children = node.items.compactMap { item -> (address: ObjectAddress, expected: Int)? in
            if case .node(_, let child) = item { return (child, Self.listNodeSizeEstimate) }
            return nil
        }
        if children.count > 1 { prefetch(children) }
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

    /// What a content list node is counted as while prefetched.
    static var listNodeSizeEstimate: Int { 4096 }

    /// A chunk's plaintext, checked against the length the content list gives.
    package func chunk(_ address: ObjectAddress, length: UInt64) async throws -> [UInt8] {
        let object = try await open(address, expecting: .chunk)
        guard UInt64(object.body.count) == length else {
            throw ObjectError.malformed(address, .invalid("chunk", "holds \(object.body.count) bytes, content list says \(length)"))
        }
        return object.body
    }

    /// Runs a decoder; a `FormatError` becomes `ObjectError.malformed` naming the object.
    package func decode<T>(_ address: ObjectAddress, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FormatError { throw ObjectError.malformed(address, error) }
    }
}

/// A run of a file to restore: data from a chunk, or a hole (`chunk` nil).
package struct FileRun: Equatable, Sendable {
    package var offset: UInt64
    package var length: UInt64
    package var chunk: ObjectAddress?
}
