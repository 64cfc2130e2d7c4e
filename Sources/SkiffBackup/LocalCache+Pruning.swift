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

    /// Whether the cache names any object (object, file or directory entries).
    package func isEmpty() throws -> Bool {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM files) + (SELECT COUNT(*) FROM subtrees)") == 0
        }
    }

    /// Forgets every entry whose object is not in `kept`: object entries, files whose content is
    /// not, directories whose tree is not. Files with no content are kept. Returns how many
    /// entries it forgot. Idempotent.
    package func forgetAllBut(_ kept: Set<ObjectAddress>) throws -> Int {
        func address(_ data: Data) -> ObjectAddress { ObjectAddress(Digest256(bytes: data)) }
        return try database.write { db in
            var removed = 0
            for (table, key, column) in [("objects", "identity", "address"), ("files", "path", "content_address"), ("subtrees", "path", "address")] {
                var doomed: [Data] = []
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(key), \(column) FROM \(table) WHERE \(column) IS NOT NULL")
                while let row = try cursor.next() {
                    let target: Data = row[1]
                    if !kept.contains(address(target)) { doomed.append(row[0]) }
                }
                let statement = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(key) = ?")
                for value in doomed { try statement.execute(arguments: [value]) }
                removed += doomed.count
            }
            return removed
        }
    }
}
