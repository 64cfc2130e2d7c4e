import Glibc
import SkiffBackup
import SkiffCore
import SkiffRestore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Damage of every kind must be detected by verify and by restore, and named.
@Suite struct TamperTests {
    static func smallTree(_ fixture: BackupFixture) throws {
        var options = TreeGenerator.Options()
        options.directories = 3
        options.filesPerDirectory = 4
        options.largeFileSizes = [3 << 20]
        options.depth = 2
        try TreeGenerator.generate(at: fixture.source, options: options)
    }

    @Test func flippingAByteOfAnyObjectIsFoundAndNamed() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try Self.smallTree(fixture)
        let result = try await fixture.backup()
        #expect(try await fixture.verify().isClean)
        let addresses = try await fixture.objectAddresses()
        #expect(addresses.count > 20)
        for address in addresses {
            let place = try fixture.place(address)
            try fixture.flipByte(of: address, at: place.length / 2)
            let report = try await fixture.verify()
            let name = address.hex
            #expect(report.findings.contains { $0.object == name && $0.code == .corruptObject }, "flipped \(name): \(report.findings)")
            // Restore must fail naming the object (unless it sits outside the restored data,
            // which no object here does: every object is reachable).
            let target = fixture.folder.appending("restore-\(name.prefix(8))")
            do {
                _ = try await fixture.restore(result.seal, to: target)
                Issue.record("restore succeeded over corrupt object \(name)")
            } catch let error as RestoreError {
                #expect("\(error)".contains(name), "\(error)")
            } catch let error as ObjectError {
                #expect(error.address.hex == name)
            }
            try fixture.flipByte(of: address, at: place.length / 2)
            try FileIO.removeTree(target)
        }
        #expect(try await fixture.verify().isClean)
    }

    @Test func aDeletedObjectIsReportedMissing() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try Self.smallTree(fixture)
        _ = try await fixture.backup()
        let victim = try await fixture.objectAddresses()[3]
        try await fixture.store.delete(.object(victim))
        let report = try await fixture.verify()
        #expect(report.findings.contains { $0.code == .missingObject && $0.object == victim.hex })
    }

    @Test func swappingTwoObjectsIsFound() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try Self.smallTree(fixture)
        _ = try await fixture.backup()
        // Two chunks: leaves of the DAG, so that neither hides the other from the walk.
        var chunks: [ObjectAddress] = []
        for address in try await fixture.objectAddresses() where try ObjectHeader.parse(await fixture.store.get(.object(address))).kind == .chunk {
            chunks.append(address)
        }
        #expect(chunks.count >= 2)
        let a = chunks[0], b = chunks[chunks.count - 1]
        try fixture.swapPlaces(a, b)
        let report = try await fixture.verify()
        let names = Set(report.findings.filter { $0.code == .corruptObject }.compactMap(\.object))
        #expect(names.contains(a.hex))
        #expect(names.contains(b.hex))
    }

    @Test func replacedOrForgedSealsAreFound() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try Self.smallTree(fixture)
        let first = try await fixture.backup()
        try TreeGenerator.write([1, 2, 3], to: fixture.source.appending("new-file"))
        let second = try await fixture.backup()
        let sealFolder = fixture.repoPath.appending("seals/web1")
        let secondFile = sealFolder.appending(second.seal.name.fileName)

        // 1. The second seal's file replaced by the first seal's bytes: misfiled.
        _ = secondFile.withCString { chmod($0, 0o644) }
        try TreeGenerator.write(first.seal.encoded, to: secondFile)
        var report = try await fixture.verify()
        #expect(report.findings.contains { $0.code == .misfiledSeal }, "\(report.findings)")

        // 2. A seal pointing at another root, re-signed by a host key the tenant never certified.
        let intruderTenant = try TestKeys.tenant()
        let intruderCertificate = try HostCertificate.issue(
            by: intruderTenant.certificationKey, tenant: fixture.tenant.tenant, hostName: "web1",
            publicKey: fixture.host.signingKey.publicKey, issuedAt: 0)
        let intruder = HostKey(tenant: fixture.tenant.publicKey, signingKey: Ed25519PrivateKey.generate(), certificate: intruderCertificate, writeSecrets: fixture.host.writeSecrets)
        let forged = try Seal.make(hostKey: intruder, previous: first.seal, time: second.seal.time, root: first.seal.root, counts: SealCounts())
        try FileIO.remove(secondFile)
        try TreeGenerator.write(forged.encoded, to: sealFolder.appending(forged.name.fileName))
        report = try await fixture.verify()
        #expect(report.findings.contains { $0.code == .unknownSigner || $0.code == .badSignature }, "\(report.findings)")

        // 3. The genuine seal with one byte of its root changed: the signature breaks.
        try FileIO.remove(sealFolder.appending(forged.name.fileName))
        var tampered = second.seal.encoded
        tampered[tampered.count - 100] ^= 0x10
        let tamperedName = SealName(host: "web1", sequence: 2, hash: SHA256Hasher.digest(tampered))
        try TreeGenerator.write(tampered, to: sealFolder.appending(tamperedName.fileName))
        report = try await fixture.verify()
        #expect(report.findings.contains { $0.code == .badSignature || $0.code == .malformedSeal }, "\(report.findings)")
    }
}
