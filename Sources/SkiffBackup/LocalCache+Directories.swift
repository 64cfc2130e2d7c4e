import Foundation
import GRDB
import SkiffCore

/// Directories as the host's last snapshots stored them, one row each, keyed by path: the
/// directory's own inode, mtime and ctime, its tree node's address (NULL once a prune deleted
/// the node), what it holds, and its entries with their stamps and contents (`CachedListing`).
///
/// A backup reads a directory's row once, then decides per entry from one `lstat` whether it
/// changed; a directory whose entries all match (and whose subdirectories kept their
/// addresses) keeps its tree node whole. The agent reuses a complete row's subtree without
/// listing the directory when inotify saw no change at or below it and its inode, mtime and
/// ctime still match.
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

    package struct DirectoryRecord: Sendable, Equatable {
        package var path: [UInt8]
        package var inode: UInt64
        package var modificationTime: Int64
        package var changeTime: Int64
        /// Its tree node; nil once a prune deleted it (the entries still serve lookups).
        package var address: ObjectAddress?
        /// Below the directory (not counting itself).
        package var counts: SubtreeCounts
        /// Whether `listing` holds every entry the walk kept (a walked directory), or only
        /// those leading to the paths backed up (a directory above them): only a complete
        /// row stands for the whole directory.
        package var isComplete: Bool
        package var listing: CachedListing

        package init(
            path: [UInt8], inode: UInt64, modificationTime: Int64, changeTime: Int64, address: ObjectAddress?,
            counts: SubtreeCounts, isComplete: Bool, listing: CachedListing
        ) {
            self.path = path
            self.inode = inode
            self.modificationTime = modificationTime
            self.changeTime = changeTime
            self.address = address
            self.counts = counts
            self.isComplete = isComplete
            self.listing = listing
        }
    }

    /// The row of the directory at `path`; nil when there is none or its listing does not parse.
    package func directory(path: [UInt8]) throws -> DirectoryRecord? {
        try database.read { db in
            let statement = try db.cachedStatement(sql: "SELECT * FROM directories WHERE path = ?")
            guard let row = try Row.fetchOne(statement, arguments: [Data(path)]) else { return nil }
            let address: Data? = row["address"]
            let entries: Data = row["entries"]
            guard address == nil || address?.count == 32, let listing = CachedListing(bytes: Array(entries)) else { return nil }
            return DirectoryRecord(
                path: path, inode: UInt64(bitPattern: row["inode"]), modificationTime: row["mtime"], changeTime: row["ctime"],
                address: address.map { ObjectAddress(Digest256(bytes: $0)) },
                counts: SubtreeCounts(files: row["files"], directories: row["directories"], others: row["others"], bytes: row["bytes"]),
                isComplete: row["complete"], listing: listing)
        }
    }

    /// Writes rows, replacing those of the same paths. Call only after the destination's
    /// checkpoint made every object they name durable.
    package func recordDirectories(_ records: [DirectoryRecord]) throws {
        guard !records.isEmpty else { return }
        try database.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO directories (path, inode, mtime, ctime, address, files, directories, others, bytes, complete, entries)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for record in records {
                try statement.execute(arguments: [
                    Data(record.path), Int64(bitPattern: record.inode), record.modificationTime, record.changeTime,
                    record.address.map { Data($0.digest.bytes) }, record.counts.files, record.counts.directories, record.counts.others,
                    record.counts.bytes, record.isComplete, Data(record.listing.bytes),
                ])
            }
        }
    }

    package func directoryCount() throws -> Int {
        try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM directories") ?? 0 }
    }
}
