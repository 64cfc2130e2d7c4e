/// The names a tree node covers: its first and last entry name and how many entries lie
/// under it. A function of the node's content alone, so it can be computed once per address
/// and reused wherever the node is shared.
///
/// A split directory is valid only when, for each index node, every child is non-empty,
/// starts with the name its index item gives, holds the entry count the item gives, and ends
/// before the next child starts. Together with the strict order inside each level-0 node this
/// makes every name in a directory unique: a snapshot cannot hide a second "link" (say, a
/// directory under a symlink of the same name) in another node.
package struct TreeNodeSummary: Equatable, Sendable {
    package var firstName: [UInt8]
    package var lastName: [UInt8]
    package var entryCount: UInt64

    package init(firstName: [UInt8], lastName: [UInt8], entryCount: UInt64) {
        self.firstName = firstName
        self.lastName = lastName
        self.entryCount = entryCount
    }

    /// The summary of a level-0 node; nil when it has no entries (an empty directory).
    package init?(entries: [TreeEntry]) {
        guard let first = entries.first, let last = entries.last else { return nil }
        self.init(firstName: first.name, lastName: last.name, entryCount: UInt64(entries.count))
    }

    /// Checks an index node against the summaries of its children (nil for an empty child)
    /// and returns its own summary.
    /// - Throws: `FormatError.invalid` naming the broken rule.
    package static func combining(_ items: [TreeIndexItem], children: [TreeNodeSummary?]) throws -> TreeNodeSummary {
        precondition(items.count == children.count && !items.isEmpty)
        var total: UInt64 = 0
        var previous: TreeNodeSummary?
        for (item, child) in zip(items, children) {
            guard let child else { throw FormatError.invalid("tree node", "index points to an empty node") }
            guard child.firstName == item.firstName else {
                throw FormatError.invalid("tree node", "index item does not match the first name of its node")
            }
            guard child.entryCount == item.entryCount else {
                throw FormatError.invalid("tree node", "index item entry count \(item.entryCount) differs from its node's \(child.entryCount)")
            }
            if let previous, !previous.lastName.lexicographicallyPrecedes(child.firstName) {
                throw FormatError.invalid("tree node", "entries out of order across its nodes (repeated name?)")
            }
            let (sum, overflow) = total.addingReportingOverflow(child.entryCount)
            guard !overflow else { throw FormatError.invalid("tree node", "entry count overflows") }
            total = sum
            previous = child
        }
        return TreeNodeSummary(firstName: children.first!!.firstName, lastName: previous!.lastName, entryCount: total)
    }
}
