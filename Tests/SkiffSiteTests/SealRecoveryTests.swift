import Foundation
import GRDB
import SkiffAudit
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Testing

/// Every lost or damaged seal comes back, and nothing says "healed" that is not: each test
/// starts from a clean replica at two sites, damages one the way a failing disk or an operator
/// would, repairs it with the tools an operator has, and ends with a deep audit that is clean
/// everywhere and a restore that is byte-identical.
@Suite(.serialized) struct SealRecoveryTests {
    /// Two sites, three snapshots of a generated tree delivered to both.
    static func replica(_ label: String) async throws -> SiteFarm {
        let farm = try await SiteFarm(sites: 2, label: label)
        for round in 0..<3 {
            var options = TreeGenerator.Options()
            options.seed = UInt64(40 + round)
            options.directories = 3
            options.filesPerDirectory = 6
            options.largeFileSizes = round == 0 ? [1 << 20] : []
            _ = try TreeGenerator.generate(at: farm.source.appending("round-\(round)"), options: options)
            let backup = try await farm.backup()
            guard backup.status == 0 else { throw TestFailure("backup \(round): \(backup)") }
        }
        try await farm.writeConfiguration(role: "admin", file: "admin.yaml.heal", quorum: 1)
        let audit = try await farm.audit(["--deep"])
        guard audit.status == 0 else { throw TestFailure("the replica does not start clean: \(audit)") }
        return farm
    }

    /// The seal files of web1 at one site, by sequence.
    static func sealFiles(_ farm: SiteFarm, site: Int) throws -> [UInt64: RawPath] {
        let folder = farm.sites[site].data.appending("tenants").appending(farm.tenant.tenant.hex).appending("seals").appending("web1")
        var files: [UInt64: RawPath] = [:]
        for entry in try FileIO.directoryEntries(folder) {
            let name = String(decoding: entry, as: UTF8.self)
            guard let sealName = SealName(host: "web1", fileName: name) else { continue }
            files[sealName.sequence] = folder.appending(name)
        }
        return files
    }

    static func heal(_ farm: SiteFarm, from: String, to: String) async throws -> CommandResult {
        try await farm.skiff(["heal", "--config", farm.folder.appending("admin.yaml.heal").description, "--tenant-key",
                        farm.folder.appending("tenant.pub").description, "--state", farm.folder.appending("audit.sqlite").description,
                        "--from", from, "--to", to, "--json"])
    }

    /// A deep audit is clean at both sites and a restore from `site` equals the source.
    static func expectWhole(_ farm: SiteFarm, restoringFrom site: Int) async throws {
        let audit = try await farm.audit(["--deep"])
        #expect(audit.status == 0, "\(audit)")
        let restored = try await farm.restore(from: site)
        #expect(try TreeComparison.differences(farm.source, restored).isEmpty, "the restore differs from the source")
    }

    /// The newest seal's file deleted, then another's damaged: the audit names them, heal puts
    /// them back (the site checks each as at first acceptance) and says how many.
    @Test func aDeletedOrDamagedSealIsHealed() async throws {
        let farm = try await Self.replica("skiff-recover-newest")
        defer { farm.remove() }
        let files = try Self.sealFiles(farm, site: 0)
        try FileManager.default.removeItem(atPath: files[3]!.description)
        let found = try await AuditTests.report(try farm.audit(["--deep"]))
        #expect(found.findings.contains { $0.source == "site-a" && ($0.kind == .missingSeal || $0.kind == .rollback) }, "\(found.findings)")
        let heal = try await Self.heal(farm, from: "site-b", to: "site-a")
        #expect(heal.status == 0 && heal.standardOutput.contains("web1#3"), "\(heal)")
        try await Self.expectWhole(farm, restoringFrom: 0)

        var bytes = try FileIO.readFile(files[2]!)
        bytes[bytes.count - 70] ^= 0x01
        _ = files[2]!.withCString { chmod($0, 0o644) }
        try TreeGenerator.write(bytes, to: files[2]!)
        #expect(try await farm.audit(["--deep"]).status == 6)
        let check = try await CommandRunner.run(CommandRunner.executable("skiff-site"), ["check", "--data", farm.sites[0].data.description, "--deep"])
        #expect(check.status == 6 && check.standardOutput.contains("damaged-seal-file"), "\(check)")
        let second = try await Self.heal(farm, from: "site-b", to: "site-a")
        #expect(second.status == 0 && second.standardOutput.contains("web1#2"), "\(second)")
        try await Self.expectWhole(farm, restoringFrom: 0)
        let trail = try await SiteFarm.siteCLI(["audit-trail", "--data", farm.sites[0].data.description]).standardOutput
        #expect(trail.contains("recover-seal"), "\(trail)")
    }

    /// An older seal (#2 of 3) lost: its neighbours stay, so the chain has a hole that only
    /// that seal fills.
    @Test func aLostOlderSealIsHealed() async throws {
        let farm = try await Self.replica("skiff-recover-older")
        defer { farm.remove() }
        try FileManager.default.removeItem(atPath: try Self.sealFiles(farm, site: 1)[2]!.description)
        #expect(try await farm.audit(["--deep"]).status == 6)
        let heal = try await Self.heal(farm, from: "site-a", to: "site-b")
        #expect(heal.status == 0 && heal.standardOutput.contains("web1#2"), "\(heal)")
        try await Self.expectWhole(farm, restoringFrom: 1)
    }

    /// Heal says so, and exits 6, when it cannot: the seal is lost at both sites.
    @Test func aHealThatLeavesFindingsSaysSo() async throws {
        let farm = try await Self.replica("skiff-recover-both")
        defer { farm.remove() }
        for site in 0..<2 { try FileManager.default.removeItem(atPath: try Self.sealFiles(farm, site: site)[2]!.description) }
        let heal = try await Self.heal(farm, from: "site-a", to: "site-b")
        #expect(heal.status == 6 && heal.standardOutput.contains("broken-chain"), "a hole neither site can fill is not 'healed': \(heal)")
        #expect(try await farm.audit(["--deep"]).status == 6, "the hole is still found")
    }

    /// The index loses rows (a seal file readers cannot see), then the whole registry: check
    /// finds it and repairs the index; reindex rebuilds the registry from the store alone, and
    /// readers get the same answers.
    @Test func anIndexIsRepairedAndALostRegistryRebuiltFromTheStore() async throws {
        let farm = try await Self.replica("skiff-recover-index")
        defer { farm.remove() }
        let data = farm.sites[0].data.description
        func listing() async throws -> [SnapshotRow] {
            let text = try await farm.skiff(["snapshots", "--config", farm.adminConfiguration, "--site", "site-a", "--json"]).standardOutput
            return try JSONDecoder().decode([SnapshotRow].self, from: Data(text.utf8))
        }
        let before = try await listing()
        #expect(before.count == 3)

        farm.sites[0].stop()
        try await DatabaseQueue(path: "\(data)/site.sqlite").write { db in
            try db.execute(sql: "DELETE FROM seals WHERE sequence = 2")
        }
        let check = try await CommandRunner.run(CommandRunner.executable("skiff-site"), ["check", "--data", data, "--json"])
        #expect(check.status == 6 && check.standardOutput.contains("unindexed-seal"), "\(check)")
        let repair = try await CommandRunner.run(CommandRunner.executable("skiff-site"), ["check", "--data", data, "--repair"])
        #expect(repair.status == 0 && repair.standardOutput.contains("repaired"), "\(repair)")
        #expect(try await CommandRunner.run(CommandRunner.executable("skiff-site"), ["check", "--data", data, "--deep"]).status == 0)

        try FileManager.default.removeItem(atPath: "\(data)/site.sqlite")
        let reindex = try await CommandRunner.run(CommandRunner.executable("skiff-site"), ["reindex", "--data", data])
        #expect(reindex.status == 0 && reindex.standardOutput.contains("3 seals") && reindex.standardOutput.contains("create them again"), "\(reindex)")
        for (role, extra) in [("writer", ["--tenant", "acme", "--host", "web1"]), ("reader", ["--tenant", "acme"]), ("auditor", ["--tenant", "acme"]),
                              ("admin", [String]())] {
            try await SiteFarm.siteCLI(["token", "create", "--data", data, "--role", role, "--out", farm.folder.appending("site-a.\(role)").description] + extra)
        }
        try farm.sites[0].start()
        #expect(try await listing() == before, "readers see the same seals")
        try await Self.expectWhole(farm, restoringFrom: 0)
        #expect(try await farm.backup().status == 0, "the host goes on sealing at the rebuilt site")
    }

    /// A site restored from an old copy of its data folder (it lost seals #2 and #3 it had
    /// accepted): the host notices, says why, and brings it back from its own outbox.
    @Test func aRolledBackSiteIsBroughtBackByTheHost() async throws {
        let farm = try await SiteFarm(sites: 2, label: "skiff-recover-rollback")
        defer { farm.remove() }
        var options = TreeGenerator.Options()
        options.directories = 3
        options.filesPerDirectory = 5
        _ = try TreeGenerator.generate(at: farm.source.appending("first"), options: options)
        #expect(try await farm.backup().status == 0)
        farm.sites[0].stop()
        let copy = farm.folder.appending("site-a-copy")
        #expect(try await CommandRunner.run("/bin/cp", ["-a", farm.sites[0].data.description, copy.description]).status == 0)
        try farm.sites[0].start()
        for round in 0..<2 {
            options.seed = UInt64(70 + round)
            _ = try TreeGenerator.generate(at: farm.source.appending("later-\(round)"), options: options)
            #expect(try await farm.backup().status == 0)
        }
        farm.sites[0].stop()
        #expect(try await CommandRunner.run("/bin/rm", ["-rf", farm.sites[0].data.description]).status == 0)
        #expect(try await CommandRunner.run("/bin/mv", [copy.description, farm.sites[0].data.description]).status == 0)
        try farm.sites[0].start()

        let status = try await farm.skiff(["status", "--config", farm.hostConfiguration, "--json"])
        #expect(status.standardOutput.contains("had accepted #3"), "the host sees site-a behind and says why: \(status)")
        let sync = try await farm.skiff(["sync", "--config", farm.hostConfiguration, "--timeout", "60"])
        #expect(sync.status == 0, "\(sync)")
        try await Self.expectWhole(farm, restoringFrom: 0)
        _ = try TreeGenerator.generate(at: farm.source.appending("after"), options: options)
        #expect(try await farm.backup().status == 0, "new seals continue at both sites")
    }
}

/// A row of `skiff snapshots --json`.
struct SnapshotRow: Decodable, Equatable {
    var id: String
    var host: String
    var sequence: UInt64
}
