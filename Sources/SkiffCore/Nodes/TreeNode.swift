/// A decoded directory node. Small directories are one level-0 node of entries; large ones
/// are split by content-defined boundaries under index nodes (level > 0), so that one changed
/// entry in a huge directory rewrites O(log n) nodes.
///
/// Body layout: u8 version (1) || u8 level || varint count || items. Level-0 items are
/// entries (see TreeEntry+Encoding), strictly increasing by name. Higher-level items are
/// lp first name || varint child index || varint entry count.
package enum TreeNode: Equatable, Sendable {
    case entries([TreeEntry])
    case index([TreeIndexItem])

    static let maxLevel = 8

    package static func decode(body: [UInt8], children: [ObjectAddress]) throws -> TreeNode {
        var reader = ByteReader(body, context: "tree node")
        guard try reader.u8() == 1 else { throw FormatError.unsupported("tree node", "version") }
        let level = Int(try reader.u8())
        guard level <= maxLevel else { throw FormatError.invalid("tree node", "level \(level)") }
        let count = try reader.count(limit: 1 << 20)
        if level == 0 {
            var entries: [TreeEntry] = []
            entries.reserveCapacity(reader.capacity(for: count, minimumSize: TreeEntry.minimumEncodedSize))
            for _ in 0..<count {
                let entry = try TreeEntry.read(from: &reader, children: children)
                if let previous = entries.last, !previous.name.lexicographicallyPrecedes(entry.name) {
                    throw FormatError.invalid("tree node", "entries not in strictly increasing name order (duplicate \(entry.displayName.debugDescription)?)")
                }
                entries.append(entry)
            }
            try reader.expectEnd()
            return .entries(entries)
        }
        guard count > 0 else { throw FormatError.invalid("tree node", "empty index node") }
        var items: [TreeIndexItem] = []
        for _ in 0..<count {
            let firstName = try reader.lengthPrefixed(limit: 255)
            guard !children.isEmpty else { throw FormatError.invalid("tree node", "index without children") }
            let child = children[try reader.count(limit: children.count - 1)]
            let entryCount = try reader.varint()
            if let previous = items.last, !previous.firstName.lexicographicallyPrecedes(firstName) {
                throw FormatError.invalid("tree node", "index items out of order")
            }
            items.append(TreeIndexItem(firstName: firstName, address: child, entryCount: entryCount, level: level - 1))
        }
        try reader.expectEnd()
        return .index(items)
    }
}

/// A pointer from an index node to a lower tree node.
package struct TreeIndexItem: Equatable, Sendable {
    package var firstName: [UInt8]
    package var address: ObjectAddress
    package var entryCount: UInt64
    /// Level of the node it points at.
    package var level: Int
}

/// Builds one directory's node(s) from its entries, given in strictly increasing name order.
///
/// Memory holds one open node per level. Boundary hashes are keyed (HMAC of the name under
/// the boundary key) so that node sizes do not reveal names.
package struct TreeBuilder {
    private struct Pending {
        var firstName: [UInt8]
        var entryCount: UInt64
        var hash: UInt64
        var encodedEntry: TreeEntry?
        var node: EmittedNode?
    }

    private let rule: NodeSplitRule
    private let boundaryMAC: HMACSHA256
    private var levels: [[Pending]] = [[]]
    private var levelBodyBytes: [Int] = [0]
    private var lastName: [UInt8]?
    package private(set) var entryCount: UInt64 = 0

    /// - Parameter boundaryMAC: keyed with the repository's boundary key (`WriteSecrets`).
    package init(boundaryMAC: HMACSHA256, rule: NodeSplitRule = .tree) {
        self.rule = rule
        self.boundaryMAC = boundaryMAC
    }

    package mutating func append(_ entry: TreeEntry, emit: NodeEmitter) throws {
        precondition(TreeEntry.isValidName(entry.name), "invalid entry name")
        if let lastName { precondition(lastName.lexicographicallyPrecedes(entry.name), "entries must arrive sorted and unique") }
        lastName = entry.name
        entryCount += 1
        let hash = entry.name.withUnsafeBytes { boundaryMAC.mac($0) }.prefix64
        let approximateSize = 64 + entry.name.count + entry.linkTarget.count
            + entry.extendedAttributes.reduce(0) { $0 + $1.name.count + $1.value.count + 4 }
        try push(Pending(firstName: entry.name, entryCount: 1, hash: hash, encodedEntry: entry, node: nil),
                 size: approximateSize, level: 0, emit: emit)
    }

    private mutating func push(_ item: Pending, size: Int, level: Int, emit: NodeEmitter) throws {
        if levels.count <= level {
            levels.append([])
            levelBodyBytes.append(0)
        }
        levels[level].append(item)
        levelBodyBytes[level] += size
        if rule.endsNode(afterItemWithHash: item.hash, itemCount: levels[level].count, bodyBytes: levelBodyBytes[level]) {
            try closeNode(level: level, emit: emit)
        }
    }

    private mutating func closeNode(level: Int, emit: NodeEmitter) throws {
        let items = levels[level]
        levels[level] = []
        levelBodyBytes[level] = 0
        guard !items.isEmpty else { return }
        let node = try emitNode(level: level, items: items, emit: emit)
        let count = items.reduce(UInt64(0)) { $0 + $1.entryCount }
        try push(Pending(firstName: items[0].firstName, entryCount: count, hash: node.identity.digest.prefix64, encodedEntry: nil, node: node),
                 size: 48 + items[0].firstName.count, level: level + 1, emit: emit)
    }

    private func emitNode(level: Int, items: [Pending], emit: NodeEmitter) throws -> EmittedNode {
        var children: [ObjectAddress] = []
        var index: [ObjectAddress: Int] = [:]
        func childIndex(_ address: ObjectAddress) -> Int {
            if let i = index[address] { return i }
            children.append(address)
            index[address] = children.count - 1
            return children.count - 1
        }
        var writer = ByteWriter(capacity: 64 * items.count + 16)
        writer.u8(1)
        writer.u8(UInt8(level))
        writer.varint(items.count)
        for item in items {
            if let entry = item.encodedEntry {
                entry.write(into: &writer, childIndex: childIndex)
            } else {
                writer.lengthPrefixed(item.firstName)
                writer.varint(childIndex(item.node!.address))
                writer.varint(item.entryCount)
            }
        }
        return try emit(.tree, children, writer.bytes)
    }

    /// Closes every open node and returns the directory's root tree node. An empty
    /// directory gets a node with no entries.
    package mutating func finish(emit: NodeEmitter) throws -> EmittedNode {
        var level = 0
        while true {
            let isTop = level == levels.count - 1
            if isTop {
                let items = levels[level]
                if level > 0 && items.count == 1, let node = items[0].node {
                    return node
                }
                return try emitNode(level: level, items: items, emit: emit)
            }
            try closeNode(level: level, emit: emit)
            level += 1
        }
    }
}
