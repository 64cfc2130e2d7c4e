import SkiffCore

/// Input: one byte choosing the parser (0 tree node, 1 content list, 2 snapshot record, modulo
/// 3), one byte of child count (made-up child addresses), then the decrypted body.
enum NodeFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        guard bytes.count >= 2 else { return .rejected }
        let kinds: [ObjectKind] = [.tree, .contentList, .snapshot]
        let children = (0..<Int(bytes[1])).map(FuzzKeys.child)
        return parse(kind: kinds[Int(bytes[0]) % 3], body: Array(bytes[2...]), children: children)
    }

    /// Parses a decrypted body of `kind` and checks what its readers rely on.
    static func parse(kind: ObjectKind, body: [UInt8], children: [ObjectAddress]) -> FuzzOutcome {
        do {
            switch kind {
            case .chunk, .sessionKey:
                break
            case .tree:
                switch try TreeNode.decode(body: body, children: children) {
                case .entries(let entries):
                    for (index, entry) in entries.enumerated() {
                        precondition(TreeEntry.isValidName(entry.name), "a tree node yielded an unsafe name")
                        precondition(index == 0 || entries[index - 1].name.lexicographicallyPrecedes(entry.name))
                        precondition(entry.content.address.map(children.contains) ?? true)
                        precondition(entry.type != .directory || entry.content.expectedKind == .tree)
                    }
                case .index(let items):
                    precondition(!items.isEmpty)
                    precondition(items.allSatisfy { children.contains($0.address) })
                }
            case .contentList:
                let node = try ContentListNode.decode(body: body, children: children)
                precondition(!node.items.isEmpty)
                for item in node.items {
                    switch item {
                    case .data(let length, let address):
                        precondition(node.level == 0 && length > 0 && children.contains(address))
                    case .hole(let length):
                        precondition(node.level == 0 && length > 0)
                    case .node(_, let address):
                        precondition(node.level > 0 && children.contains(address))
                    }
                }
            case .snapshot:
                let record = try SnapshotRecord.decode(body: body, children: children)
                precondition(children.contains(record.root))
            }
            return .accepted
        } catch {
            return .rejected
        }
    }
}
