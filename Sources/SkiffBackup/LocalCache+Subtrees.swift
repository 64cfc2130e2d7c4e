import Foundation
import GRDB
import SkiffCore

/// Directories as the last snapshots stored them: the subtree's address and what it holds,
/// keyed by path and checked against the directory's inode, mtime and ctime. The agent reuses
/// such a subtree, without walking it, when inotify saw no change at or below it.
extension LocalCache {
    package struct SubtreeCounts: Sendable, Equatable {
        package var files = 0
        package var directories = 0
        package var others = 0
        package var bytes = 0

        package init(files: Int = 0, directories: Int = 0, others: Int = 0, bytes: Int = 0) {
            self.files = files
            self.directories = directories
            self.others = others
            self.bytes = bytes
        }

        static func + (a: SubtreeCounts, b: SubtreeCounts) -> SubtreeCounts {
            SubtreeCounts(files: a.files + b.files, directories: a.directories + b.directories, others: a.others + b.others, bytes: a.bytes + b.bytes)
        }
    }

    package struct SubtreeRecord: Sendable, Equatable {
        package var path: [UInt8]
        package var inode: UInt64
        package var modificationTime: Int64
        package var changeTime: Int64
        package var address: ObjectAddress
        /// Below the directory (not counting itself).
        package var counts: SubtreeCounts
    }

    package func subtree(path: [UInt8]) throws -> SubtreeRecord? {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT * FROM subtrees WHERE path = ?")
            guard let row = try Row.fetchOne(statement, arguments: [Data(path)]) else { return nil }
            let address: Data = row["address"]
            return SubtreeRecord(
                path: path, inode: UInt64(bitPattern: row["inode"]), modificationTime: row["mtime"], changeTime: row["ctime"],
                address: ObjectAddress(Digest256(bytes: address)),
                counts: SubtreeCounts(files: row["files"], directories: row["directories"], others: row["others"], bytes: row["bytes"]))
        }
    }

    package func recordSubtrees(_ records: [SubtreeRecord]) throws {
        guard !records.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO subtrees (path, inode, mtime, ctime, address, files, directories, others, bytes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for record in records {
                try statement.execute(arguments: [
                    Data(record.path), Int64(bitPattern: record.inode), record.modificationTime, record.changeTime,
                    Data(record.address.digest.bytes), record.counts.files, record.counts.directories, record.counts.others, record.counts.bytes,
                ])
            }
        }
    }
}
