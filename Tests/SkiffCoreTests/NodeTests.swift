import Testing
@testable import SkiffCore
import SkiffTestSupport

@Suite struct NodeTests {
    static func address(_ n: Int) -> ObjectAddress {
        var bytes = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: UInt64(n).littleEndian) { for (i, b) in $0.enumerated() { bytes[i] = b } }
        bytes[31] = 0xaa
        return ObjectAddress(Digest256(bytes: bytes))
    }

    /// An emitter that records nodes in memory, keyed by a fake identity over the body.
    final class MemoryEmitter {
        var nodes: [ObjectAddress: (ObjectKind, [ObjectAddress], [UInt8])] = [:]
        var emitted = 0
        let mac = HMACSHA256(key: SecretBytes([UInt8](repeating: 1, count: 32)))

        func emit(_ kind: ObjectKind, _ children: [ObjectAddress], _ body: [UInt8]) throws -> EmittedNode {
            let identity = body.withUnsafeBytes { ObjectIdentity.compute(kind: kind, children: children, body: $0, mac: mac) }
            let address = ObjectAddress(identity.digest)
            if nodes[address] == nil { emitted += 1 }
            nodes[address] = (kind, children, body)
            return EmittedNode(address: address, identity: identity)
        }
    }

    static func fullEntry() -> TreeEntry {
        TreeEntry(
            name: [0x66, 0xff, 0x00 + 0x41], type: .regular, permissions: 0o4755, uid: 1000, gid: 100, userName: "alice", groupName: "users",
            size: 123_456, modificationTime: Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
            accessTime: Timestamp(seconds: -5, nanoseconds: 1), changeTime: Timestamp(seconds: 1_700_000_001, nanoseconds: 0),
            hardlink: HardlinkKey(device: 2049, inode: 77),
            extendedAttributes: [ExtendedAttribute(name: Array("user.comment".utf8), value: [0, 1, 2]),
                                 ExtendedAttribute(name: Array("system.posix_acl_access".utf8), value: [2, 0, 0, 0])],
            content: .list(address(5)))
    }

    @Test func treeEntriesRoundTripWithEveryField() throws {
        let emitter = MemoryEmitter()
        var builder = TreeBuilder(boundaryMAC: HMACSHA256(key: .random(count: 32)))
        let entries = [
            Self.fullEntry(),
            TreeEntry(name: Array("dev".utf8), type: .blockDevice, permissions: 0o660, deviceNumber: 0x0801),
            TreeEntry(name: Array("dir".utf8), type: .directory, permissions: 0o1777, content: .subtree(Self.address(6))),
            TreeEntry(name: Array("link".utf8), type: .symlink, permissions: 0o777, size: 4, linkTarget: Array("../x".utf8)),
            TreeEntry(name: Array("one".utf8), type: .regular, size: 1, content: .chunk(Self.address(5))),
        ].sorted { $0.name.lexicographicallyPrecedes($1.name) }
        for entry in entries { try builder.append(entry, emit: emitter.emit) }
        let root = try builder.finish(emit: emitter.emit)
        let (kind, children, body) = emitter.nodes[root.address]!
        #expect(kind == .tree)
        #expect(children.count == 2, "shared content addresses are stored once")
        #expect(try TreeNode.decode(body: body, children: children) == .entries(entries))
    }

    @Test(arguments: [[], [0x2e], [0x2e, 0x2e], Array("a/b".utf8), [0x61, 0x00], [UInt8](repeating: 0x61, count: 256)] as [[UInt8]])
    func unsafeNamesAreRejectedWhenDecoding(_ name: [UInt8]) throws {
        var writer = ByteWriter()
        writer.u8(1); writer.u8(0); writer.varint(1)
        TreeEntry(name: name, type: .regular).write(into: &writer, childIndex: { _ in 0 })
        #expect(throws: FormatError.self) { _ = try TreeNode.decode(body: writer.bytes, children: []) }
    }

    @Test func duplicateOrUnsortedEntriesAreRejected() throws {
        var writer = ByteWriter()
        writer.u8(1); writer.u8(0); writer.varint(2)
        TreeEntry(name: Array("b".utf8), type: .regular).write(into: &writer, childIndex: { _ in 0 })
        TreeEntry(name: Array("a".utf8), type: .regular).write(into: &writer, childIndex: { _ in 0 })
        #expect(throws: FormatError.self) { _ = try TreeNode.decode(body: writer.bytes, children: []) }
        var same = ByteWriter()
        same.u8(1); same.u8(0); same.varint(2)
        TreeEntry(name: Array("a".utf8), type: .regular).write(into: &same, childIndex: { _ in 0 })
        TreeEntry(name: Array("a".utf8), type: .directory).write(into: &same, childIndex: { _ in 0 })
        #expect(throws: FormatError.self) { _ = try TreeNode.decode(body: same.bytes, children: [Self.address(1)]) }
    }

    @Test func contentOfTheWrongKindForTheTypeIsRejected() throws {
        var writer = ByteWriter()
        writer.u8(1); writer.u8(0); writer.varint(1)
        TreeEntry(name: Array("a".utf8), type: .symlink, content: .subtree(Self.address(1))).write(into: &writer, childIndex: { _ in 0 })
        #expect(throws: FormatError.self) { _ = try TreeNode.decode(body: writer.bytes, children: [Self.address(1)]) }
    }

    @Test func smallFilesReferenceTheirChunkDirectly() throws {
        let emitter = MemoryEmitter()
        var single = ContentListBuilder()
        try single.appendData(length: 10, address: Self.address(1), identity: ObjectIdentity(Self.address(1).digest), emit: emitter.emit)
        #expect(try single.finish(emit: emitter.emit) == .chunk(Self.address(1)))
        var empty = ContentListBuilder()
        #expect(try empty.finish(emit: emitter.emit) == ContentReference.none)
        #expect(emitter.emitted == 0)
    }

    @Test func holesAreRecordedAndMerged() throws {
        let emitter = MemoryEmitter()
        var builder = ContentListBuilder()
        try builder.appendHole(length: 4096, emit: emitter.emit)
        try builder.appendHole(length: 4096, emit: emitter.emit)
        try builder.appendData(length: 100, address: Self.address(1), identity: ObjectIdentity(Self.address(1).digest), emit: emitter.emit)
        guard case .list(let root) = try builder.finish(emit: emitter.emit) else { Issue.record("expected a list"); return }
        let (_, children, body) = emitter.nodes[root]!
        let node = try ContentListNode.decode(body: body, children: children)
        #expect(node.items == [.hole(length: 8192), .data(length: 100, address: Self.address(1))])
    }

    func buildList(_ count: Int, replacing index: Int? = nil, emitter: MemoryEmitter) throws -> ObjectAddress {
        var builder = ContentListBuilder()
        for i in 0..<count {
            let n = i == index ? 1_000_000 + i : i
            var identityBytes = SHA256Hasher.digest(Array("chunk \(n)".utf8)).bytes
            identityBytes[31] = 0
            try builder.appendData(length: 1000, address: Self.address(n), identity: ObjectIdentity(Digest256(bytes: identityBytes)), emit: emitter.emit)
        }
        guard case .list(let root) = try builder.finish(emit: emitter.emit) else { throw FormatError.invalid("test", "no list") }
        return root
    }

    @Test func largeContentListsSplitAndAChangeRewritesLogarithmicallyManyNodes() throws {
        let emitter = MemoryEmitter()
        let count = 50_000
        let root = try buildList(count, emitter: emitter)
        let firstRun = emitter.emitted
        #expect(firstRun > count / 512, "the list must be split into many nodes")
        // Read it back in order.
        var lengths = 0
        var stack = [root]
        var depth = 0
        while let address = stack.popLast() {
            let (_, children, body) = emitter.nodes[address]!
            let node = try ContentListNode.decode(body: body, children: children)
            depth = max(depth, node.level + 1)
            for item in node.items.reversed() {
                switch item {
                case .node(_, let child): stack.append(child)
                case .data(let length, _): lengths += Int(length)
                case .hole: Issue.record("no holes here")
                }
            }
        }
        #expect(lengths == count * 1000)
        // Change one chunk in the middle: only the nodes on its path are new.
        let before = emitter.emitted
        _ = try buildList(count, replacing: count / 2, emitter: emitter)
        let rewritten = emitter.emitted - before
        #expect(rewritten <= depth + 2, "a one-chunk change rewrote \(rewritten) nodes (depth \(depth))")
    }

    @Test func largeDirectoriesSplitIntoIndexedNodes() throws {
        let emitter = MemoryEmitter()
        var builder = TreeBuilder(boundaryMAC: HMACSHA256(key: SecretBytes([UInt8](repeating: 4, count: 32))))
        let names = (0..<10_000).map { Array(String(format: "file-%05d", $0).utf8) }
        for name in names {
            try builder.append(TreeEntry(name: name, type: .regular, size: 1, content: .chunk(Self.address(name.count))), emit: emitter.emit)
        }
        let root = try builder.finish(emit: emitter.emit)
        #expect(emitter.emitted > 5)
        func entries(_ address: ObjectAddress) throws -> [TreeEntry] {
            let (_, children, body) = emitter.nodes[address]!
            switch try TreeNode.decode(body: body, children: children) {
            case .entries(let e): return e
            case .index(let items): return try items.flatMap { try entries($0.address) }
            }
        }
        #expect(try entries(root.address).map(\.name) == names)
    }

    @Test func snapshotRecordsRoundTrip() throws {
        let record = SnapshotRecord(
            hostName: "web1", time: Timestamp(seconds: 1_700_000_000, nanoseconds: 42), paths: [Array("/srv".utf8), [0x2f, 0xff]],
            tags: ["daily", "pre-upgrade"], summary: SnapshotSummary(files: 1, directories: 2, otherEntries: 3, logicalBytes: 4),
            root: Self.address(7))
        #expect(try SnapshotRecord.decode(body: record.body, children: record.children) == record)
    }

    @Test func nodesDeclaringMoreItemsThanTheyHoldAreRefused() {
        let claim: [UInt8] = [1, 0, 0x80, 0x80, 0x40]
        #expect(throws: FormatError.self) { _ = try TreeNode.decode(body: claim, children: []) }
        #expect(throws: FormatError.self) { _ = try ContentListNode.decode(body: claim, children: [Self.address(1)]) }
    }
}
