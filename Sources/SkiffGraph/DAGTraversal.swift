import SkiffCore

/// The one breadth-first walk of the Merkle DAG through its clear links, shared by every
/// reader of the graph: a site checking that a seal reaches only stored objects, garbage
/// collection marking what seals reach, the keyless audit and heal. It owns the frontier and
/// the set of addresses visited (each address is visited once, however many parents name it);
/// what a visit does (read a header, check presence, read and hash a whole object) and how many
/// reads it keeps in flight is the caller's `visit` step.
///
/// Memory: the visited set (one address per object reached) and one level of the frontier.
/// Cancellation: `visit` is not called again once it throws (a cancelled read, say).
package struct DAGTraversal: Sendable {
    /// Every address visited so far, by every `walk` of this traversal.
    package private(set) var visited = Set<ObjectAddress>()

    package init() {}

    /// Walks from `roots`, level by level, skipping addresses visited before (in this walk or
    /// an earlier one: walks from new roots reach only what is new). Each level is handed to
    /// `visit` in pages of at most `pageSize` items; `visit` returns the items the page's links
    /// lead to, in any order (nothing for a leaf, or for an item it could not read).
    package mutating func walk<Item>(from roots: [Item], address: (Item) -> ObjectAddress, pageSize: Int = 2048,
                                     visit: ([Item]) async throws -> [Item]) async throws {
        precondition(pageSize > 0)
        var frontier = roots.filter { visited.insert(address($0)).inserted }
        while !frontier.isEmpty {
            var next: [Item] = []
            for start in stride(from: 0, to: frontier.count, by: pageSize) {
                for child in try await visit(Array(frontier[start..<min(start + pageSize, frontier.count)]))
                where visited.insert(address(child)).inserted {
                    next.append(child)
                }
            }
            frontier = next
        }
    }

    /// `walk` for callers whose items are plain addresses.
    package mutating func walk(from roots: [ObjectAddress], pageSize: Int = 2048,
                               visit: ([ObjectAddress]) async throws -> [ObjectAddress]) async throws {
        try await walk(from: roots, address: { $0 }, pageSize: pageSize, visit: visit)
    }
}
