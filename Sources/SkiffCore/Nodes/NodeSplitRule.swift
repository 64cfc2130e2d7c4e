/// When a list (a file's chunks, a directory's entries) is cut into nodes.
///
/// A node ends after an item whose pseudo-random boundary hash has its low `maskBits` bits
/// zero, once the node holds at least `minItems`; it always ends at `maxItems` or
/// `maxBodyBytes`. Because cuts depend on the items, not their positions, inserting or
/// changing an item changes only the nodes around it and the path above them:
/// O(log n) rewritten nodes for a small change to a huge list.
package struct NodeSplitRule: Sendable, Equatable {
    package var minItems: Int
    package var maskBits: Int
    package var maxItems: Int
    package var maxBodyBytes: Int

    package init(minItems: Int, maskBits: Int, maxItems: Int, maxBodyBytes: Int) {
        self.minItems = minItems
        self.maskBits = maskBits
        self.maxItems = maxItems
        self.maxBodyBytes = maxBodyBytes
    }

    /// File content lists: about 80 chunks per node, at most 512.
    package static let contentList = NodeSplitRule(minItems: 16, maskBits: 6, maxItems: 512, maxBodyBytes: 1 << 20)
    /// Directories: about 320 entries per node, at most 2048 or 2 MiB of metadata.
    package static let tree = NodeSplitRule(minItems: 64, maskBits: 8, maxItems: 2048, maxBodyBytes: 2 << 20)

    package func endsNode(afterItemWithHash hash: UInt64, itemCount: Int, bodyBytes: Int) -> Bool {
        if itemCount >= maxItems || bodyBytes >= maxBodyBytes { return true }
        guard itemCount >= minItems else { return false }
        return hash & ((1 << UInt64(maskBits)) - 1) == 0
    }
}

/// A node that a builder has written: where it is and its keyed identity.
package struct EmittedNode: Equatable, Sendable {
    package var address: ObjectAddress
    package var identity: ObjectIdentity

    package init(address: ObjectAddress, identity: ObjectIdentity) {
        self.address = address
        self.identity = identity
    }
}

/// Writes one node and returns where it is. The backup layer encodes, deduplicates by
/// identity and queues the upload; builders in SkiffCore stay free of I/O.
package typealias NodeEmitter = (_ kind: ObjectKind, _ children: [ObjectAddress], _ body: [UInt8]) throws -> EmittedNode
