/// One piece of a file's content, in order.
package enum ContentItem: Equatable, Sendable {
    /// `length` bytes stored in the chunk at `address`.
    case data(length: UInt64, address: ObjectAddress)
    /// `length` bytes of a hole: zeros that occupy no disk blocks.
    case hole(length: UInt64)
    /// A lower content-list node covering `length` bytes (interior levels only).
    case node(length: UInt64, address: ObjectAddress)

    package var length: UInt64 {
        switch self {
        case .data(let l, _), .hole(let l), .node(let l, _): return l
        }
    }
}

/// A decoded content-list node: level 0 lists data and holes, higher levels list nodes.
///
/// Body layout: u8 version (1) || u8 level || varint count || items, where a level-0 item is
/// u8 tag (1 data, 2 hole) || varint length || (data) varint child index, and a higher-level
/// item is varint length || varint child index.
package struct ContentListNode: Equatable, Sendable {
    package var level: Int
    package var items: [ContentItem]

    package init(level: Int, items: [ContentItem]) {
        self.level = level
        self.items = items
    }

    static let maxLevel = 8

    package static func decode(body: [UInt8], children: [ObjectAddress]) throws -> ContentListNode {
        var reader = ByteReader(body, context: "content list")
        guard try reader.u8() == 1 else { throw FormatError.unsupported("content list", "version") }
        let level = Int(try reader.u8())
        guard level <= maxLevel else { throw FormatError.invalid("content list", "level \(level)") }
        let count = try reader.count(limit: 1 << 20)
        guard count > 0 else { throw FormatError.invalid("content list", "empty node") }
        var items: [ContentItem] = []
        items.reserveCapacity(reader.capacity(for: count, minimumSize: 2))
        func child() throws -> ObjectAddress {
            guard !children.isEmpty else { throw FormatError.invalid("content list", "reference without children") }
            return children[try reader.count(limit: children.count - 1)]
        }
        for _ in 0..<count {
            if level == 0 {
                let tag = try reader.u8()
                let length = try reader.varint()
                guard length > 0 else { throw FormatError.invalid("content list", "zero-length item") }
                switch tag {
                case 1: items.append(.data(length: length, address: try child()))
                case 2: items.append(.hole(length: length))
                default: throw FormatError.unsupported("content list", "item tag \(tag)")
                }
            } else {
                let length = try reader.varint()
                items.append(.node(length: length, address: try child()))
            }
        }
        try reader.expectEnd()
        return ContentListNode(level: level, items: items)
    }
}

/// Builds a file's content list as it is read, chunk by chunk, emitting nodes as they fill.
///
/// Memory holds one open node per level, so a file of any size needs O(log n) space.
package struct ContentListBuilder {
    private struct PendingItem {
        var item: ContentItem
        var hash: UInt64
    }

    private let rule: NodeSplitRule
    private var levels: [[PendingItem]] = [[]]
    private var levelBodyBytes: [Int] = [0]
    private var dataItems = 0
    private var holeItems = 0
    private var firstData: ObjectAddress?
    package private(set) var totalLength: UInt64 = 0

    package init(rule: NodeSplitRule = .contentList) {
        self.rule = rule
    }

    /// Appends a chunk; `identity` drives the content-defined node boundaries.
    package mutating func appendData(length: Int, address: ObjectAddress, identity: ObjectIdentity, emit: NodeEmitter) throws {
        precondition(length > 0)
        dataItems += 1
        if firstData == nil { firstData = address }
        try append(.data(length: UInt64(length), address: address), hash: identity.digest.prefix64, level: 0, emit: emit)
    }

    /// Appends a hole; consecutive holes are merged.
    package mutating func appendHole(length: UInt64, emit: NodeEmitter) throws {
        precondition(length > 0)
        if case .hole(let previous)? = levels[0].last?.item {
            levels[0][levels[0].count - 1].item = .hole(length: previous + length)
            totalLength += length
            return
        }
        holeItems += 1
        try append(.hole(length: length), hash: length &* 0x9E37_79B9_7F4A_7C15, level: 0, emit: emit)
    }

    private mutating func append(_ item: ContentItem, hash: UInt64, level: Int, emit: NodeEmitter) throws {
        if level == 0 { totalLength += item.length }
        if levels.count <= level {
            levels.append([])
            levelBodyBytes.append(0)
        }
        levels[level].append(PendingItem(item: item, hash: hash))
        levelBodyBytes[level] += 12
        if rule.endsNode(afterItemWithHash: hash, itemCount: levels[level].count, bodyBytes: levelBodyBytes[level]) {
            try closeNode(level: level, emit: emit)
        }
    }

    private mutating func closeNode(level: Int, emit: NodeEmitter) throws {
        let items = levels[level]
        levels[level] = []
        levelBodyBytes[level] = 0
        guard !items.isEmpty else { return }
        let (children, body) = Self.encode(level: level, items: items.map(\.item))
        let node = try emit(.contentList, children, body)
        let length = items.reduce(UInt64(0)) { $0 + $1.item.length }
        try append(.node(length: length, address: node.address), hash: node.identity.digest.prefix64, level: level + 1, emit: emit)
    }

    /// Closes every open node and returns the reference for the file's tree entry:
    /// `.none` when empty, `.chunk` for a single chunk, `.list` otherwise.
    package mutating func finish(emit: NodeEmitter) throws -> ContentReference {
        if dataItems == 0 && holeItems == 0 { return .none }
        if dataItems == 1 && holeItems == 0, let firstData { return .chunk(firstData) }
        var level = 0
        while true {
            let isTop = level == levels.count - 1
            if isTop && levels[level].count == 1, case .node(_, let address) = levels[level][0].item {
                return .list(address)
            }
            if isTop {
                let items = levels[level].map(\.item)
                let (children, body) = Self.encode(level: level, items: items)
                return .list(try emit(.contentList, children, body).address)
            }
            try closeNode(level: level, emit: emit)
            level += 1
        }
    }

    static func encode(level: Int, items: [ContentItem]) -> ([ObjectAddress], [UInt8]) {
        var children: [ObjectAddress] = []
        var index: [ObjectAddress: Int] = [:]
        func childIndex(_ address: ObjectAddress) -> Int {
            if let i = index[address] { return i }
            children.append(address)
            index[address] = children.count - 1
            return children.count - 1
        }
        var writer = ByteWriter(capacity: 16 + items.count * 12)
        writer.u8(1)
        writer.u8(UInt8(level))
        writer.varint(items.count)
        for item in items {
            switch item {
            case .data(let length, let address):
                writer.u8(1)
                writer.varint(length)
                writer.varint(childIndex(address))
            case .hole(let length):
                writer.u8(2)
                writer.varint(length)
            case .node(let length, let address):
                writer.varint(length)
                writer.varint(childIndex(address))
            }
        }
        return (children, writer.bytes)
    }
}
