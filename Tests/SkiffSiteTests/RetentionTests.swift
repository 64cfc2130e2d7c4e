import Foundation
import Glibc
import SkiffCore
import SkiffSite
import SkiffSiteProtocol
import SkiffSystem
import SkiffTestSupport
import Synchronization
import Testing

/// Retention, immutability and garbage collection at a real site, with real hosts uploading.
@Suite(.serialized) struct RetentionTests {
    /// A second host of the farm's tenant: its key, certificate, writer token and configuration.
    static func addHost(_ name: String, to farm: SiteFarm) async throws -> (config: String, source: RawPath) {
        let host = try TestKeys.host(name, of: farm.tenant)
        try TreeGenerator.write(Array(host.armored.utf8), to: farm.folder.appending("\(name).key"))
        try TreeGenerator.write(Array(host.certificate.armored(tenant: farm.tenant.tenant).utf8), to: farm.folder.appending("\(name).cert"))
        var text = "host_key: \(name).key\nstate_dir: state-\(name)\nquorum: \(farm.sites.count)\nquorum_timeout: 30\nsites:\n"
        for (index, site) in farm.names.enumerated() {
            let data = farm.sites[index].data.description
            try await SiteFarm.siteCLI(["host", "add", "--data", data, "--certificate", farm.folder.appending("\(name).cert").description])
            try await SiteFarm.siteCLI(["token", "create", "--data", data, "--role", "writer", "--tenant", "acme", "--host", name,
                                  "--out", farm.folder.appending("\(site).writer-\(name)").description])
            text += "  - name: \(site)\n    url: \(farm.sites[index].url)\n    token_file: \(site).writer-\(name)\n    fingerprint: \(try await farm.fingerprint(index))\n"
        }
        try TreeGenerator.write(Array(text.utf8), to: farm.folder.appending("\(name).yaml"))
        return (farm.folder.appending("\(name).yaml").description, farm.folder.appending("data-\(name)"))
    }

    /// One round of changes: a new file, an appended one, a rewritten one, a deleted one;
    /// content unique to the round so that retired snapshots leave real garbage.
    static func change(_ root: RawPath, round: Int, random: inout SeededRandom) throws {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        try FileIO.makeDirectories(root.appending("logs"))
        try TreeGenerator.write(bytes(300_000 + round * 1000), to: root.appending("round-\(round).bin"))
        try TreeGenerator.write(bytes(80_000), to: root.appending("rewritten.bin"))
        let log = root.appending("logs").appending("app.log")
        let old = (try? FileIO.readFile(log)) ?? []
        try TreeGenerator.write(old + bytes(20_000), to: log)
        if round >= 2 { try? FileIO.remove(root.appending("round-\(round - 2).bin")) }
    }

    static func backup(_ farm: SiteFarm, config: String, source: RawPath) async throws -> (host: String, sequence: UInt64) {
        let result = try await farm.skiff(["backup", source.description, "--config", config, "--json"])
        guard result.status == 0, let start = result.standardOutput.firstIndex(of: "{") else { throw TestFailure("backup: \(result)") }
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput[start...].utf8)) as! [String: Any]
        return (object["host"] as! String, (object["sequence"] as! NSNumber).uint64Value)
    }

    static func objectBytes(_ farm: SiteFarm) throws -> (count: Int, bytes: Int) {
        let objects = try farm.objects(0)
        return (objects.count, objects.reduce(0) { $0 + $1.size })
    }

    static func site(_ farm: SiteFarm, _ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner.run(CommandRunner.executable("skiff-site"), arguments + ["--data", farm.sites[0].data.description, "--tenant", "acme"])
    }

    @Test func continuousUploadsFromTwoHostsWhileGarbageCollectionRunsLoseNothingRetained() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-gc", serveOptions: ["--scrub-rate", "0", "--gc-interval", "0"])
        defer { farm.remove() }
        let hosts = [try await Self.addHost("db1", to: farm), try await Self.addHost("app1", to: farm)]
        #expect(try await Self.site(farm, ["retention", "set", "--keep-within", "1s", "--grace", "4s", "--reuse-horizon", "0s"]).status == 0)

        // Each snapshot's expected tree, kept as a copy.
        let expected = farm.folder.appending("expected")
        let collecting = Atomic<Bool>(true)
        let runs = Mutex<[String]>([])
        let deletedWhileUploading = Atomic<Int>(0)
        let collector = Task.detached {
            while collecting.load(ordering: .relaxed) {
                let apply = try await Self.site(farm, ["retention", "apply", "--json"])
                let gc = try await Self.site(farm, ["gc", "--json"])
                runs.withLock { $0.append("apply \(apply.status) gc \(gc.status) \(gc.standardError)") }
                if gc.status == 0 {
                    let report = try SiteAPI.jsonDecoder().decode(CollectionReport.self, from: Data(gc.standardOutput.utf8))
                    deletedWhileUploading.add(report.deletedBytes, ordering: .relaxed)
                }
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        var snapshots: [(host: String, sequence: UInt64)] = []
        for round in 0..<8 {
            try await withThrowingTaskGroup(of: (String, UInt64).self) { group in
                for (index, host) in hosts.enumerated() {
                    var random = SeededRandom(seed: UInt64(round * 10 + index + 1))
                    try Self.change(host.source, round: round, random: &random)
                    group.addTask { try await Self.backup(farm, config: host.config, source: host.source) }
                }
                for try await (host, sequence) in group {
                    snapshots.append((host, sequence))
                    let source = hosts[host == "db1" ? 0 : 1].source
                    let copy = expected.appending("\(host)-\(sequence)")
                    try FileIO.makeDirectories(copy)
                    #expect(try await CommandRunner.run("/bin/cp", ["-a", source.description + "/.", copy.description]).status == 0)
                }
            }
        }
        collecting.store(false, ordering: .relaxed)
        try await collector.value
        let log = runs.withLock { $0 }
        #expect(log.count >= 2 && log.allSatisfy { $0.hasPrefix("apply 0 gc 0") }, "\(log)")

        // Settle: past the grace period, apply and collect once more; storage is now exactly
        // what the retained seals reach. Garbage was collected, while uploading or now (how much
        // when depends on how fast the backups ran).
        try await Task.sleep(for: .seconds(5))
        #expect(try await Self.site(farm, ["retention", "apply"]).status == 0)
        let final = try await Self.site(farm, ["gc", "--json"])
        try #require(final.status == 0, "\(final)")
        let report = try SiteAPI.jsonDecoder().decode(CollectionReport.self, from: Data(final.standardOutput.utf8))
        let after = try Self.objectBytes(farm)
        #expect(deletedWhileUploading.load(ordering: .relaxed) + report.deletedBytes > 0, "\(log)")
        #expect(after.count == report.reachable, "\(after), \(report)")

        let audit = try await farm.audit(["--deep"])
        #expect(audit.status == 0, "\(audit)")
        let summary = try AuditTests.report(audit)
        #expect(summary.isClean && summary.sources[0].objectsRead == after.count && summary.sources[0].retiredSeals > 0, "\(summary.sources)")

        // Every retained seal restores exactly what its host had.
        let retained = try await Self.seals(farm, state: "retained")
        #expect(try await Self.seals(farm, state: "retired").count == summary.sources[0].retiredSeals)
        #expect(retained.count >= 2 && retained.count < snapshots.count, "retained \(retained) of \(snapshots)")
        for seal in retained {
            let target = farm.folder.appending("restore-\(seal.host)-\(seal.sequence)")
            let restore = try await farm.skiff(["restore", "\(seal.host)#\(seal.sequence)", "--config", farm.adminConfiguration,
                                          "--restore-key", farm.folder.appending("tenant.key").description, "--to", target.description])
            #expect(restore.status == 0, "\(restore)")
            let source = hosts[seal.host == "db1" ? 0 : 1].source
            let restored = RawPath(bytes: target.bytes + source.bytes)
            #expect(try TreeComparison.differences(expected.appending("\(seal.host)-\(seal.sequence)"), restored).isEmpty)
        }
    }

    /// The site's seal index (retained or retired), read with the admin token.
    static func seals(_ farm: SiteFarm, state: String) async throws -> [SealIndexEntry] {
        let result = try await CommandRunner.run("/usr/bin/curl", ["-sk", "-H", "Authorization: Bearer \(try farm.token(0, "admin"))",
                                                             "\(farm.sites[0].url)/v1/tenants/\(farm.tenant.tenant.hex)/seals?state=\(state)"])
        return try SiteAPI.jsonDecoder().decode(SealListing.self, from: Data(result.standardOutput.utf8)).seals
    }

    @Test func writersCannotRetireAndNobodyRemovesInsideTheImmutabilityWindow() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-immutable", serveOptions: ["--scrub-rate", "0", "--gc-interval", "0"])
        defer { farm.remove() }
        try AuditTests.generate(farm, seed: 3)
        try await #require(try farm.backup().status == 0)
        var random = SeededRandom(seed: 9)
        try Self.change(farm.source, round: 0, random: &random)
        try await #require(try farm.backup().status == 0)
        #expect(try await Self.site(farm, ["retention", "immutability", "--window", "14d"]).status == 0)
        #expect(try await Self.site(farm, ["retention", "set", "--keep-within", "1s"]).status == 0)

        let seal = try await #require(try Self.seals(farm, state: "retained").first { $0.sequence == 1 }?.name?.fileName)
        let url = "\(farm.sites[0].url)/v1/tenants/\(farm.tenant.tenant.hex)/seals/web1/\(seal)"
        func delete(_ url: String, as role: String) async throws -> (status: String, body: String) {
            let result = try await CommandRunner.run("/usr/bin/curl", ["-sk", "-X", "DELETE", "-H", "Authorization: Bearer \(try farm.token(0, role))",
                                                                 "-w", "\n%{http_code}", url])
            let lines = result.standardOutput.split(separator: "\n")
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }
        let byWriter = try await delete(url, as: "writer")
        #expect(byWriter.status == "403" && byWriter.body.contains("\"forbidden\""), "\(byWriter)")
        let byAdmin = try await delete(url, as: "admin")
        #expect(byAdmin.status == "423" && byAdmin.body.contains("\"immutable\""), "\(byAdmin)")
        let object = try #require(try farm.objects(0).last)
        let objectURL = "\(farm.sites[0].url)/v1/tenants/\(farm.tenant.tenant.hex)/objects/\(object.hex)"
        #expect(try await delete(objectURL, as: "admin").status == "423")
        #expect(try await delete(objectURL, as: "writer").status == "403")

        // The plan says why; applying retires nothing; shortening the window waits for the old one.
        let plan = try await Self.site(farm, ["retention", "plan"])
        #expect(plan.standardOutput.contains("immutable until") && plan.standardOutput.contains("0 to retire"), "\(plan)")
        #expect(try await Self.site(farm, ["retention", "immutability", "--window", "0s"]).standardOutput.contains("in force 14d"))
        #expect(try await Self.site(farm, ["retention", "apply"]).standardOutput.contains("0 seals retired"))
        #expect(try await Self.seals(farm, state: "retained").count == 2)

        let trail = try await SiteFarm.siteCLI(["audit-trail", "--data", farm.sites[0].data.description, "--json"]).standardOutput
        #expect(trail.contains("refused-retire-seal") && trail.contains("\"writer\"") && trail.contains("refused-delete")
                && trail.contains("immutability-window"), "\(trail)")
    }

    /// A seal stored just before a crash, before the site indexed it, still protects its
    /// objects: collection lists seals from the store, not from the index.
    @Test func aSealTheIndexDoesNotKnowYetIsStillARoot() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-gc-index", serveOptions: ["--scrub-rate", "0", "--gc-interval", "0"])
        defer { farm.remove() }
        try AuditTests.generate(farm, seed: 4)
        try await #require(try farm.backup().status == 0)
        var random = SeededRandom(seed: 5)
        try Self.change(farm.source, round: 0, random: &random)
        try await #require(try farm.backup().status == 0)
        farm.stopAll()
        // The crash: seal #2 is in the store, but its index row and head were never written.
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DELETE FROM seals WHERE sequence = 2")
            db.execute("UPDATE seal_heads SET sequence = 1, hash = (SELECT hash FROM seals WHERE sequence = 1)")
            db.commit()
            """
        let sql = try await CommandRunner.run("/usr/bin/python3", ["-c", script, farm.sites[0].data.appending("site.sqlite").description])
        try #require(sql.status == 0, "\(sql)")
        #expect(try await Self.site(farm, ["retention", "set", "--keep-within", "0s", "--grace", "0s", "--reuse-horizon", "0s"]).status == 0)
        let before = try Self.objectBytes(farm)
        try await Task.sleep(for: .milliseconds(1100))  // ages count in whole seconds: make every object older than the run
        let gc = try await Self.site(farm, ["gc", "--json"])
        try #require(gc.status == 0, "\(gc)")
        #expect(try Self.objectBytes(farm).count == before.count, "nothing may be collected: both seals are roots")
        try farm.sites[0].start()
        let restored = try await farm.restore(from: 0)
        #expect(try TreeComparison.differences(farm.source, restored).isEmpty)
        #expect(try await farm.verify(at: 0).status == 0)
    }

    @Test func killingTheSiteDuringGarbageCollectionNeverLosesARetainedObject() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-gc-crash", serveOptions: ["--scrub-rate", "0", "--gc-interval", "0"])
        defer { farm.remove() }
        #expect(try await Self.site(farm, ["retention", "set", "--keep-within", "0s", "--grace", "0s", "--reuse-horizon", "0s"]).status == 0)
        let adminToken = try farm.token(0, "admin")
        var random = SeededRandom(seed: 77)
        var kills = 0
        var span = Duration.milliseconds(50)
        for iteration in 0..<23 {
            // New garbage each time: a snapshot whose predecessor is retired.
            try Self.change(farm.source, round: iteration, random: &random)
            for extra in 0..<4 { try TreeGenerator.write((0..<2000).map { _ in UInt8(truncatingIfNeeded: random.next()) }, to: farm.source.appending("small-\(iteration)-\(extra)")) }
            try await #require(try farm.backup().status == 0)
            try await Task.sleep(for: .milliseconds(1100))
            let apply = try await CommandRunner.run("/usr/bin/curl", ["-sk", "-X", "POST", "-H", "Authorization: Bearer \(adminToken)",
                                                                "\(farm.sites[0].url)/v1/tenants/\(farm.tenant.tenant.hex)/retention/apply"])
            #expect(apply.status == 0 && apply.standardOutput.contains("retired"), "\(apply)")
            // Collect through the server and kill it at a random moment.
            let gc = Process()
            gc.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            gc.arguments = ["-sk", "-X", "POST", "-H", "Authorization: Bearer \(adminToken)", "\(farm.sites[0].url)/v1/tenants/\(farm.tenant.tenant.hex)/gc"]
            gc.standardOutput = FileHandle.nullDevice
            gc.standardError = FileHandle.nullDevice
            let began = ContinuousClock.now
            try gc.run()
            if iteration == 0 {
                // Measure one whole run (request included), then kill within that span.
                gc.waitUntilExit()
                span = ContinuousClock.now - began
                continue
            }
            try await Task.sleep(for: span * Double.random(in: 0.2...1.0))
            farm.sites[0].kill()
            gc.waitUntilExit()
            kills += 1
            try farm.sites[0].start()
            // The newest snapshot is intact after every kill.
            let verify = try await farm.verify(at: 0)
            #expect(verify.status == 0, "after kill \(kills): \(verify)")
        }
        // A final collection completes and leaves exactly what the retained seals reach.
        let final = try await Self.site(farm, ["gc", "--json"])
        try #require(final.status == 0, "\(final)")
        let report = try SiteAPI.jsonDecoder().decode(CollectionReport.self, from: Data(final.standardOutput.utf8))
        #expect(try Self.objectBytes(farm).count == report.reachable)
        // Most runs were killed before they finished (each finished run writes one "gc" entry).
        let trail = try await SiteFarm.siteCLI(["audit-trail", "--data", farm.sites[0].data.description, "--json"]).standardOutput
        let finished = trail.components(separatedBy: "\"action\" : \"gc\"").count - 1
        #expect(finished >= 2 && finished <= kills - 5, "\(finished) of \(kills + 2) collections finished")
        let audit = try await farm.audit(["--deep"])
        #expect(audit.status == 0, "\(audit)")
        let restored = try await farm.restore(from: 0)
        #expect(try TreeComparison.differences(farm.source, restored).isEmpty)
        #expect(kills >= 20)
    }
}
