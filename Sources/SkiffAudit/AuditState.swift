import Foundation
import GRDB
import SkiffCore
import SkiffSystem

/// What earlier audits established, per source (a site URL and tenant): objects whose bytes
/// were read and hashed to their address (with their links, so that a later audit can walk
/// past them without reading them again), and the newest seal of each host (to catch a
/// rollback). One SQLite file; several sources share it.
///
/// The state only ever lets an audit skip re-reading an object; it never makes a finding
/// disappear: presence is still checked for every reachable object, and `--deep` ignores it.
package final class AuditState: Sendable {
    private let database: DatabaseQueue

    package struct Head: Sendable, Equatable {
        package var sequence: UInt64
        package var hash: Digest256
    }

    /// Opens (creating if needed) the state file.
    package init(path: RawPath) throws {
        try FileIO.makeDirectories(path.parent, mode: 0o700)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try DatabaseQueue(path: path.description, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE verified (
                    source TEXT NOT NULL,
                    address BLOB NOT NULL,
                    links BLOB NOT NULL,
                    checked REAL NOT NULL,
                    PRIMARY KEY (source, address)
                ) WITHOUT ROWID;
                CREATE TABLE heads (
                    source TEXT NOT NULL,
                    host TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    seen REAL NOT NULL,
                    PRIMARY KEY (source, host)
                );
                """)
        }
        try migrator.migrate(database)
    }

    /// The links of those `addresses` an earlier audit verified at `source`.
    package func verified(_ addresses: [ObjectAddress], source: String) throws -> [ObjectAddress: [ObjectAddress]] {
        try database.read { db in
            var found: [ObjectAddress: [ObjectAddress]] = [:]
            let statement = try db.cachedStatement(sql: "SELECT links FROM verified WHERE source = ? AND address = ?")
            for address in addresses {
                guard let links = try Data.fetchOne(statement, arguments: [source, address.digest.data]) else { continue }
                found[address] = Self.addresses(links)
            }
            return found
        }
    }

    /// Records objects whose bytes were just verified.
    package func markVerified(_ objects: [(address: ObjectAddress, links: [ObjectAddress])], source: String) throws {
        guard !objects.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try database.write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO verified (source, address, links, checked) VALUES (?, ?, ?, ?)")
            for object in objects {
                var links = Data(capacity: object.links.count * 32)
                for link in object.links { links.append(link.digest.data) }
                try statement.execute(arguments: [source, object.address.digest.data, links, now])
            }
        }
    }

    /// Forgets objects found missing or damaged, so the next audit reads them again.
    package func forget(_ addresses: [ObjectAddress], source: String) throws {
        guard !addresses.isEmpty else { return }
        try database.write { db in
            for address in addresses {
                try db.execute(sql: "DELETE FROM verified WHERE source = ? AND address = ?", arguments: [source, address.digest.data])
            }
        }
    }

    package func verifiedCount(source: String) throws -> Int {
        try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM verified WHERE source = ?", arguments: [source]) ?? 0 }
    }

    /// The newest seal of each host seen at `source` by earlier audits.
    package func heads(source: String) throws -> [String: Head] {
        try database.read { db in
            var heads: [String: Head] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT host, sequence, hash FROM heads WHERE source = ?", arguments: [source]) {
                let hash: Data = row["hash"]
                heads[row["host"]] = Head(sequence: UInt64(row["sequence"] as Int64), hash: Digest256(bytes: hash))
            }
            return heads
        }
    }

    package func recordHead(_ head: Head, host: String, source: String) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO heads (source, host, sequence, hash, seen) VALUES (?, ?, ?, ?, ?)",
                           arguments: [source, host, Int64(head.sequence), head.hash.data, Date().timeIntervalSince1970])
        }
    }

    private static func addresses(_ data: Data) -> [ObjectAddress] {
        data.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count - raw.count % 32, by: 32).map { ObjectAddress(Digest256(UnsafeRawBufferPointer(rebasing: raw[$0..<$0 + 32]))) }
        }
    }
}

extension Digest256 {
    var data: Data { withUnsafeBytes { Data($0) } }
}
