import Foundation
import GRDB
import Glibc
import SkiffSystem
import SkiffTestSupport
import Testing

/// The agent's acceptance: after each kind of change the newest seal at both sites restores
/// to exactly the tree on disk; a live SQLite database comes back whole; a site that was down
/// catches up, with `skiff status` showing its backlog meanwhile.
@Suite(.serialized) struct AgentAcceptanceTests {
    static let databaseFiles: Set<String> = ["app.sqlite", "app.sqlite-wal", "app.sqlite-shm"]

    /// Waits until the latest snapshot at `site` restores to the source (the live database
    /// compared by its rows), then returns how many rows the restored database holds.
    static func waitForTree(_ farm: SiteFarm, site: Int, rows expected: Int?, seconds: Double = 30) async throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String] = ["never restored"]
        while Date() < deadline {
            if let restored = try? await farm.restore(from: site) {
                last = try TreeComparison.differences(farm.source, restored).filter { difference in
                    !databaseFiles.contains { difference.hasPrefix($0) || difference.contains("/\($0)") } && !difference.hasPrefix(":")
                }
                if let expected {
                    let copy = try DatabaseQueue(path: restored.appending("app.sqlite").description)
                    let rows = try await copy.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items") } ?? -1
                    let check = try await copy.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
                    try copy.close()
                    if rows != expected || check != "ok" { last.append("database: \(rows) rows (want \(expected)), integrity \(check ?? "?")") }
                    #expect(!FileManager.default.fileExists(atPath: restored.appending("app.sqlite-wal").description))
                }
                if last.isEmpty { return [] }
            }
            try await Task.sleep(for: .microseconds(300_000))
        }
        return last
    }

    @Test func everyKindOfChangeReachesBothSitesExactly() async throws {
        let farm = try await SiteFarm(sites: 2, quorum: 1, label: "skiff-agent-acceptance")
        defer { farm.remove() }
        try FileIO.makeDirectories(farm.source.appending("docs/old"))
        try TreeGenerator.write(Array("one".utf8), to: farm.source.appending("docs/a.txt"))
        try TreeGenerator.write(Array("two".utf8), to: farm.source.appending("docs/old/b.txt"))
        let database = try DatabasePool(path: farm.source.appending("app.sqlite").description)
        defer { try? database.close() }
        try await database.write { try $0.execute(sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)") }
        var rows = 0
        func insert(_ count: Int) throws {
            try database.write { db in for _ in 0..<count { try db.execute(sql: "INSERT INTO items (payload) VALUES (?)", arguments: [String(repeating: "x", count: 200)]) } }
            rows += count
        }
        try insert(100)

        let (agentConfig, _) = try farm.writeAgentConfiguration("agent:\n  paths: [\(farm.source)]\n  settle_ms: 50\n  min_interval_ms: 300\n")
        let agent = try farm.startAgent(config: agentConfig)
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL) } }
        #expect(try await Self.waitForTree(farm, site: 1, rows: rows) == [], "first snapshot")

        // Create, modify and append, rename, delete; the database is written all along.
        let steps: [(String, () throws -> Void)] = [
            ("create", {
                try FileIO.makeDirectories(farm.source.appending("new/deeper"))
                try TreeGenerator.write(Array("fresh".utf8), to: farm.source.appending("new/deeper/c.txt"))
                try insert(50)
            }),
            ("modify and append", {
                try TreeGenerator.write(Array("ONE, rewritten".utf8), to: farm.source.appending("docs/a.txt"))
                let log = try FileHandle(forWritingTo: URL(fileURLWithPath: farm.source.appending("docs/old/b.txt").description))
                try log.seekToEnd()
                try log.write(contentsOf: Data("\nappended line".utf8))
                try log.close()
                try insert(25)
            }),
            ("rename", {
                try FileManager.default.moveItem(atPath: farm.source.appending("docs/a.txt").description, toPath: farm.source.appending("docs/renamed.txt").description)
                try FileManager.default.moveItem(atPath: farm.source.appending("docs/old").description, toPath: farm.source.appending("archive").description)
                try insert(10)
            }),
            ("delete", {
                try FileManager.default.removeItem(atPath: farm.source.appending("new").description)
                try FileManager.default.removeItem(atPath: farm.source.appending("docs/renamed.txt").description)
                try insert(5)
            }),
        ]
        for (name, step) in steps {
            try step()
            #expect(try await Self.waitForTree(farm, site: 0, rows: rows) == [], "\(name): site a")
            #expect(try await Self.waitForTree(farm, site: 1, rows: rows) == [], "\(name): site b")
        }

        // Site b goes down; the agent keeps shipping to a and queues for b; b catches up.
        farm.sites[1].stop()
        try TreeGenerator.write(Array("while b was down".utf8), to: farm.source.appending("archive/down.txt"))
        try insert(7)
        #expect(try await Self.waitForTree(farm, site: 0, rows: rows) == [], "site a while b is down")
        let status = try await farm.skiff(["status", "--config", farm.hostConfiguration, "--json"])
        #expect(status.standardOutput.contains("\"site\" : \"site-b\""), "\(status)")
        #expect(status.standardOutput.range(of: #""backlogEntries" : [1-9]"#, options: .regularExpression) != nil, "b's backlog shows: \(status)")
        try farm.sites[1].start()
        #expect(try await Self.waitForTree(farm, site: 1, rows: rows, seconds: 60) == [], "site b after it returned")
        #expect(try await farm.verify(at: 1).status == 0)

        agent.terminate()
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
    }
}
