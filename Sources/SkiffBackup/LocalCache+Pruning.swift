import Foundation
import GRDB
import SkiffCore
import SkiffGraph

extension LocalCache {
    /// The state key under which the cache records the repository's prune epoch it was last
    /// reconciled with (docs/FORMAT.md §8, L2).
    static let pruneEpochKey = "prune-epoch"

    /// The prune epoch recorded by the last reconciliation, if any.
    package func recordedPruneEpoch() throws -> String? {
        try stateValue(Self.pruneEpochKey).map { String(decoding: $0, as: UTF8.self) }
    }

    package func recordPruneEpoch(_ epoch: String) throws {
        try setStateValue(Self.pruneEpochKey, Array(epoch.utf8))
    }

    /// Whether the cache names any object (object or directory entries).
    package func isEmpty() throws -> Bool {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM directories)") == 0
        }
    }

    /// Forgets every entry whose object is not in `kept`: object entries; in a directory row,
    /// the node (the row then serves lookups of its entries, but never stands for the whole
    /// directory) and the entries whose content is gone. Returns how many entries it forgot.
    /// Idempotent.
    package func forgetAllBut(_ kept: Set<ObjectAddress>) throws -> Int {
        func address(_ data: Data) -> ObjectAddress { ObjectAddress(Digest256(bytes: data)) }
        return try database.write { db in
            var doomed: [Data] = []
            let objects = try Row.fetchCursor(db, sql: "SELECT identity, address FROM objects")
            while let row = try objects.next() {
                if !kept.contains(address(row[1])) { doomed.append(row[0]) }
            }
            let delete = try db.cachedStatement(sql: "DELETE FROM objects WHERE identity = ?")
            for identity in doomed { try delete.execute(arguments: [identity]) }
            var forgotten = doomed.count
            var rewritten: [(path: Data, entries: Data)] = []
            let directories = try Row.fetchCursor(db, sql: "SELECT path, address, entries FROM directories")
            while let row = try directories.next() {
                let node: Data? = row[1]
                if let node, kept.contains(address(node)) { continue }
                let entries: Data = row[2]
                guard let listing = CachedListing(bytes: Array(entries)) else { continue }
                let remaining = listing.keeping(kept)
                forgotten += (node == nil ? 0 : 1) + listing.count - remaining.count
                if node != nil || remaining.count != listing.count { rewritten.append((row[0], Data(remaining.bytes))) }
            }
            let update = try db.cachedStatement(sql: "UPDATE directories SET address = NULL, entries = ? WHERE path = ?")
            for row in rewritten { try update.execute(arguments: [row.entries, row.path]) }
            return forgotten
        }
    }
}
