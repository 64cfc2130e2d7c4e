import Foundation
import SkiffAudit
import SkiffCore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Keyless audit, cross-site comparison and healing, with real sites and the real CLI.
@Suite(.serialized) struct AuditTests {
    static func report(_ result: CommandResult) throws -> AuditReport {
        guard let start = result.standardOutput.firstIndex(of: "{") else { throw TestFailure("no JSON report: \(result)") }
        return try JSONDecoder().decode(AuditReport.self, from: Data(result.standardOutput[start...].utf8))
    }

    static func generate(_ farm: SiteFarm, seed: UInt64) throws {
        var options = TreeGenerator.Options()
        options.seed = seed
        options.directories = 8
        options.filesPerDirectory = 10
        options.largeFileSizes = [2 << 20]
        _ = try TreeGenerator.generate(at: farm.source, options: options)
    }

    @Test func damageAndASiteThatMissedASealAreFoundTypedAndHealedWithoutKeys() async throws {
        let farm = try await SiteFarm(sites: 2, quorum: 1, label: "skiff-audit")
        defer { farm.remove() }
        try Self.generate(farm, seed: 5)
        let backup = try await farm.backup()
        try #require(backup.status == 0, "\(backup)")
        #expect(try await farm.skiff(["sync", "--config", farm.hostConfiguration, "--timeout", "60"]).status == 0)

        // A clean first audit reads everything; a second, incremental one reads nothing new.
        let first = try await farm.audit()
        #expect(first.status == 0, "\(first)")
        let clean = try Self.report(first)
        #expect(clean.isClean && clean.seals.count == 1 && clean.seals.allSatisfy(\.identical))
        #expect(clean.sources.allSatisfy { $0.objectsRead > 10 && $0.completeSeals == 1 })
        let again = try await Self.report(try farm.audit())
        #expect(again.isClean && again.sources.allSatisfy { $0.objectsRead == 0 && $0.objectsTrusted > 10 }, "\(again.sources)")

        // Site b misses the second snapshot; site a loses one object and has another damaged.
        farm.sites[1].stop()
        try TreeGenerator.write(Array(repeating: 7, count: 300_000), to: farm.source.appending("new-file.bin"))
        #expect(try await farm.backup().status == 0, "quorum 1: site a alone accepts")
        try farm.sites[1].start()
        // Only objects site b also holds can be healed from it: the second snapshot's own objects are not among them.
        let heldByB = Set(try farm.objects(1).map(\.hex))
        let objects = try farm.objects(0).filter { heldByB.contains($0.hex) }
        let damagedHex = objects[0].hex
        try farm.tenantFolder(0).flipByte(damagedHex, at: objects[0].size / 2, mask: 0x40)
        let deletedHex = objects[objects.count / 2].hex
        try farm.tenantFolder(0).remove(deletedHex)

        // Incremental: the deletion is found by presence, the damage only by re-reading.
        let incremental = try await farm.audit()
        #expect(incremental.status == 6, "\(incremental)")
        let found = try Self.report(incremental)
        #expect(found.findings.contains { $0.kind == .missingObject && $0.source == "site-a" && $0.object == deletedHex && !$0.seals.isEmpty })
        #expect(found.findings.contains { $0.kind == .missingSeal && $0.source == "site-b" })
        #expect(!found.findings.contains { $0.kind == .corruptObject })
        let deep = try await Self.report(try farm.audit(["--deep"]))
        let corrupt = deep.findings.filter { $0.kind == .corruptObject }
        #expect(corrupt.count == 1 && corrupt.first?.object == damagedHex && corrupt.first?.source == "site-a", "\(deep.findings)")
        #expect(corrupt.first.map { !$0.dagPath.isEmpty } == true, "a damaged chunk sits below the root")
        #expect(!deep.findings.contains { $0.source == "site-b" && $0.kind != .missingSeal })
        #expect(deep.seals.filter(\.identical).isEmpty, "no seal is whole at both sites")

        // Heal a from b, then b from a; each site checks what it receives.
        let admin = farm.folder.appending("admin.yaml.heal")
        try await farm.writeConfiguration(role: "admin", file: "admin.yaml.heal", quorum: 1)
        let tenantKey = farm.folder.appending("tenant.pub").description
        let state = farm.folder.appending("audit.sqlite").description
        let healA = try await farm.skiff(["heal", "--config", admin.description, "--tenant-key", tenantKey, "--state", state, "--from", "site-b", "--to", "site-a", "--deep", "--json"])
        #expect(healA.status == 0, "\(healA)")
        #expect(healA.standardOutput.contains("\"objectsCopied\" : 2"), "the damaged and the deleted object come from b: \(healA)")
        let healB = try await farm.skiff(["heal", "--config", admin.description, "--tenant-key", tenantKey, "--state", state, "--from", "site-a", "--to", "site-b", "--json"])
        #expect(healB.status == 0, "\(healB)")
        #expect(healB.standardOutput.contains("web1#2"), "\(healB)")
        let healAAgain = try await farm.skiff(["heal", "--config", admin.description, "--tenant-key", tenantKey, "--state", state, "--from", "site-b", "--to", "site-a", "--json"])
        #expect(healAAgain.status == 0 && healAAgain.standardOutput.contains("\"objectsCopied\" : 0"), "healing is idempotent: \(healAAgain)")

        let after = try await farm.audit(["--deep"])
        #expect(after.status == 0, "\(after)")
        let healed = try Self.report(after)
        #expect(healed.isClean && healed.seals.count == 2 && healed.seals.allSatisfy(\.identical), "\(healed.findings)")
        let flushed = Date().addingTimeInterval(10)
        while (try? farm.tenantFolder(0).place(damagedHex)) == nil && Date() < flushed { try await Task.sleep(for: .milliseconds(200)) }
        #expect(SHA256Hasher.digest(try farm.tenantFolder(0).bytes(damagedHex)).hex == damagedHex, "the damaged copy was replaced by the good one")
        let restored = try await farm.restore(from: 0)
        #expect(try TreeComparison.differences(farm.source, restored).isEmpty)
    }

    @Test func aRollbackAndAForgedSealAreFindings() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-audit-rollback")
        defer { farm.remove() }
        try Self.generate(farm, seed: 6)
        #expect(try await farm.backup().status == 0)
        try TreeGenerator.write([1, 2, 3], to: farm.source.appending("second"))
        #expect(try await farm.backup().status == 0)
        #expect(try await farm.audit().status == 0)
        // The operator of the site rolls history back: the newest seal disappears.
        let seals = farm.sites[0].data.appending("tenants").appending(farm.tenant.tenant.hex).appending("seals").appending("web1")
        let names = try FileIO.directoryEntries(seals).map { String(decoding: $0, as: UTF8.self) }.sorted()
        try FileManager.default.removeItem(atPath: seals.appending(names.last!).description)
        let rolledBack = try await farm.audit()
        #expect(rolledBack.status == 6, "\(rolledBack)")
        #expect(try Self.report(rolledBack).findings.contains { $0.kind == .rollback }, "\(rolledBack)")
        // A seal file replaced by one signed with a key the tenant never certified.
        let impostor = try TestKeys.tenant()
        let stranger = try TestKeys.host("web1", of: impostor)
        let forged = try Seal.make(hostKey: stranger, previous: nil, time: Timestamp(seconds: 99, nanoseconds: 0),
                                   root: ObjectAddress(Digest256(bytes: [UInt8](repeating: 1, count: 32))), counts: SealCounts())
        let first = seals.appending(names.first!)
        try FileManager.default.removeItem(atPath: first.description)
        try TreeGenerator.write(forged.encoded, to: first)
        let withForgery = try await Self.report(try farm.audit())
        #expect(withForgery.findings.contains { $0.kind == .malformedSeal || $0.kind == .unknownSigner }, "\(withForgery.findings)")
    }

    @Test func theSiteScrubberQuarantinesDamageThatAuditsSeeAndHealingClears() async throws {
        let farm = try await SiteFarm(sites: 2, label: "skiff-scrub", serveOptions: ["--scrub-rate", "64", "--scrub-interval", "0.0003"])
        defer { farm.remove() }
        try Self.generate(farm, seed: 7)
        let backup = try await farm.backup()
        try #require(backup.status == 0, "\(backup)")
        let victimHex = try farm.objects(0)[1].hex
        try farm.tenantFolder(0).flipByte(victimHex, at: 0)

        // Within a few passes the scrubber moves it aside; auditors see it in the site's report.
        var report = try await Self.report(try farm.audit())
        let deadline = Date().addingTimeInterval(30)
        while report.sources.first(where: { $0.name == "site-a" })?.scrub?.quarantined != 1 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            report = try await Self.report(try farm.audit())
        }
        let scrub = try #require(report.sources.first { $0.name == "site-a" }?.scrub)
        #expect(scrub.quarantinedObjects == [victimHex] && scrub.bytesPerSecond == 64 << 20)
        // The audit that saw the quarantine list may have read the object just before it was
        // moved aside; the next one meets its absence.
        report = try await Self.report(try farm.audit())
        #expect(report.findings.contains { $0.kind == .missingObject && $0.object == victimHex && $0.source == "site-a" }, "\(report.findings)")
        #expect(throws: StoreError.self) { try farm.tenantFolder(0).place(victimHex) }
        let metrics = try await CommandRunner.run("/usr/bin/curl", ["-sk", farm.sites[0].url + "/metrics"]).standardOutput
        #expect(metrics.contains("skiff_site_objects_quarantined_total"), "\(metrics.prefix(500))")

        // Healing puts a good copy back and takes it off the list.
        try await farm.writeConfiguration(role: "admin", file: "admin.yaml.heal", quorum: 1)
        let heal = try await farm.skiff(["heal", "--config", farm.folder.appending("admin.yaml.heal").description,
                                   "--tenant-key", farm.folder.appending("tenant.pub").description,
                                   "--state", farm.folder.appending("audit.sqlite").description, "--from", "site-b", "--to", "site-a"])
        #expect(heal.status == 0, "\(heal)")
        let after = try await Self.report(try farm.audit(["--deep"]))
        #expect(after.isClean, "\(after.findings)")
        #expect(after.sources.first { $0.name == "site-a" }?.scrub?.quarantined == 0)
        // The healed copy reaches the pack index (on disk) once uploads paused for a second.
        let flushed = Date().addingTimeInterval(10)
        while (try? farm.tenantFolder(0).place(victimHex)) == nil && Date() < flushed { try await Task.sleep(for: .milliseconds(200)) }
        #expect(SHA256Hasher.digest(try farm.tenantFolder(0).bytes(victimHex)).hex == victimHex)
    }
}
