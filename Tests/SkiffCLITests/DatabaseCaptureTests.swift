import Foundation
import GRDB
import SkiffSystem
import SkiffTestSupport
import Testing

/// A live SQLite database in WAL mode, with committed rows still only in its -wal file, is
/// backed up as a consistent copy that restores to a database holding every committed row.
@Suite struct DatabaseCaptureTests {
    @Test func aLiveWALDatabaseRestoresWithEveryCommittedRow() async throws {
        let w = try CLITests.Workspace()
        defer { w.remove() }
        try await w.initialize()
        let database = w.source.appending("app.sqlite").description
        let pool = try DatabasePool(path: database)
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
            for i in 0..<500 { try db.execute(sql: "INSERT INTO items (payload) VALUES (?)", arguments: [Data(repeating: UInt8(i % 251), count: 300)]) }
        }
        _ = try await pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        // Committed after the checkpoint: these rows live only in app.sqlite-wal while the pool is open.
        try await pool.write { db in
            for i in 0..<200 { try db.execute(sql: "INSERT INTO items (payload) VALUES (?)", arguments: [Data(repeating: UInt8(i % 7), count: 300)]) }
        }
        #expect(FileManager.default.fileExists(atPath: database + "-wal"))

        let backup = try await w.backup()
        #expect(backup.status == 0, "\(backup)")
        let target = w.folder.appending("restore").description
        let restore = try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target])
        #expect(restore.status == 0, "\(restore)")
        let restored = w.restored(target).appending("app.sqlite").description
        #expect(!FileManager.default.fileExists(atPath: restored + "-wal"), "a stale WAL beside the copy would corrupt it")
        let copy = try DatabaseQueue(path: restored)
        #expect(try await copy.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } == 700)
        #expect(try await copy.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        try pool.close()
    }

    /// A WAL database closed cleanly is backed up (and cached) as a plain file; reopened and
    /// written, its own file stays as it was while the rows pile up in -wal. The next backup
    /// must not take it from the file cache.
    @Test func aReopenedWALDatabaseIsNotTakenFromTheFileCache() async throws {
        let w = try CLITests.Workspace()
        defer { w.remove() }
        try await w.initialize()
        let database = w.source.appending("app.sqlite").description
        do {
            let pool = try DatabasePool(path: database)
            try await pool.write { db in
                try db.execute(sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
                for _ in 0..<100 { try db.execute(sql: "INSERT INTO items (payload) VALUES ('before')") }
            }
            try pool.close()
        }
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"), "a clean close removes the WAL")
        #expect(try await w.backup().status == 0)
        let before = try FileManager.default.attributesOfItem(atPath: database)[.modificationDate] as? Date

        let pool = try DatabasePool(path: database)
        try await pool.write { db in for _ in 0..<50 { try db.execute(sql: "INSERT INTO items (payload) VALUES ('after')") } }
        #expect(try FileManager.default.attributesOfItem(atPath: database)[.modificationDate] as? Date == before,
                "the rows are only in the WAL: the database's own file did not change")
        let second = try await w.backup()
        #expect(second.status == 0, "\(second)")
        let target = w.folder.appending("restore").description
        #expect(try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target]).status == 0)
        let copy = try DatabaseQueue(path: w.restored(target).appending("app.sqlite").description)
        #expect(try await copy.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } == 150)
        try pool.close()
    }
}
