import Foundation
import SkiffCore
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Every refusal has its documented status and code, and changes nothing stored.
@Suite(.serialized) struct RefusalTests {
    final class Setup: Sendable {
        let farm: SiteFarm
        let writer: SiteClient
        let admin: SiteClient
        let session: WriteSession

        init() async throws {
            farm = try await SiteFarm(sites: 1, label: "skiff-refusals")
            let pin = try await farm.fingerprint(0)
            writer = try await SiteClient.connect(
                SiteEndpoint(name: "a", url: farm.sites[0].url, token: try farm.token(0, "writer"), trust: .pinned(fingerprint: pin)),
                tenant: farm.tenant.tenant)
            admin = try await SiteClient.connect(
                SiteEndpoint(name: "a", url: farm.sites[0].url, token: try farm.token(0, "admin"), trust: .pinned(fingerprint: pin)),
                tenant: farm.tenant.tenant)
            session = try WriteSession.start(config: farm.tenant.publicKey.config, tenant: farm.tenant.publicKey, writeSecrets: farm.tenant.writeSecrets)
        }

        func client(token: String, tenant: TenantID? = nil) async throws -> SiteClient {
            try await SiteClient.connect(
                SiteEndpoint(name: "a", url: farm.sites[0].url, token: token, trust: .pinned(fingerprint: try farm.fingerprint(0))),
                tenant: tenant ?? farm.tenant.tenant)
        }

        /// Stores a minimal snapshot through the writer and returns its address.
        func snapshot() async throws -> ObjectAddress {
            let encoder = ObjectEncoder(session: session)
            var tree = ByteWriter()
            tree.u8(1); tree.u8(0); tree.varint(0)
            let treeObject = try encoder.encode(kind: .tree, children: [], body: tree.bytes, compression: .none)
            let record = SnapshotRecord(hostName: "web1", time: Timestamp(seconds: 1, nanoseconds: 0), paths: [], tags: [], summary: SnapshotSummary(), root: treeObject.address)
            let snapshot = try encoder.encode(kind: .snapshot, children: record.children, body: record.body, compression: .none)
            for object in [session.keyObject, treeObject, snapshot] { try await writer.putObject(object.address, bytes: object.bytes) }
            return snapshot.address
        }

        func close() async {
            try? await writer.shutdown()
            try? await admin.shutdown()
            farm.remove()
        }
    }

    static func expectRefusal(_ status: Int, _ code: SiteErrorCode, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected a refusal \(status) \(code), got success")
        } catch let SiteClientError.rejected(_, actualStatus, actualCode, _, _) {
            #expect(actualStatus == status && actualCode == code, "expected \(status) \(code), got \(actualStatus) \(String(describing: actualCode))")
        } catch {
            Issue.record("expected a refusal \(status) \(code), got \(error)")
        }
    }

    /// POSTs raw bytes with curl (which the client would never send); returns "STATUS BODY".
    static func post(_ body: some Collection<UInt8>, to url: String, token: String, folder: RawPath) async throws -> String {
        let file = folder.appending("raw-body")
        try TreeGenerator.write(Array(body), to: file)
        let result = try await CommandRunner.run("/usr/bin/curl", [
            "-sk", "-X", "POST", "--data-binary", "@\(file)", "-H", "Authorization: Bearer \(token)",
            "-H", "Content-Type: \(ObjectBundle.contentType)", "-w", "%{http_code}", "-o", folder.appending("raw-answer").description, url,
        ])
        let answer = String(decoding: (try? FileIO.readFile(folder.appending("raw-answer"))) ?? [], as: UTF8.self)
        return "\(result.standardOutput) \(answer)"
    }

    /// Everything the site holds for the tenant, to show that refusals change nothing.
    static func inventory(_ client: SiteClient) async throws -> [StoreKey: [UInt8]] {
        var all: [StoreKey: [UInt8]] = [:]
        for prefix in [StoreKey.objectsPrefix, StoreKey.sealsPrefix] {
            for try await key in client.keys(prefix: prefix) { all[key] = try await client.get(key) }
        }
        return all
    }

    @Test func refusalsCarryTheirCodesAndChangeNothing() async throws {
        let setup = try await Setup()
        defer { Task { await setup.close() } }
        let encoder = ObjectEncoder(session: setup.session)
        let object = try encoder.encode(kind: .chunk, children: [], body: SecureRandom.bytes(5000), compression: .none)
        try await setup.writer.putObject(setup.session.keyObject.address, bytes: setup.session.keyObject.bytes)
        try await setup.writer.putObject(object.address, bytes: object.bytes)
        let first = try Seal.make(hostKey: setup.farm.host, previous: nil, time: Timestamp(seconds: 10, nanoseconds: 0),
                                  root: try await setup.snapshot(), counts: SealCounts())
        #expect(try await setup.writer.putSeal(first))
        #expect(try await setup.writer.putSeal(first) == false, "re-sending the accepted head is an idempotent success")
        let before = try await Self.inventory(setup.admin)

        // Credentials.
        let stranger = try await setup.client(token: "skt_not-a-token")
        await Self.expectRefusal(401, .unauthorized) { _ = try await stranger.missing([object.address]) }
        try? await stranger.shutdown()
        let otherTenant = try TestKeys.tenant()
        try TreeGenerator.write(Array(otherTenant.publicKey.armored.utf8), to: setup.farm.folder.appending("other.pub"))
        let data = setup.farm.sites[0].data.description
        try await SiteFarm.siteCLI(["tenant", "add", "other", "--data", data, "--key", setup.farm.folder.appending("other.pub").description])
        let otherTenantHost = try TestKeys.host("web1", of: otherTenant)
        try TreeGenerator.write(Array(otherTenantHost.certificate.armored(tenant: otherTenant.tenant).utf8), to: setup.farm.folder.appending("other-web1.cert"))
        try await SiteFarm.siteCLI(["host", "add", "--data", data, "--certificate", setup.farm.folder.appending("other-web1.cert").description])
        try await SiteFarm.siteCLI(["token", "create", "--data", data, "--role", "writer", "--tenant", "other", "--host", "web1",
                              "--out", setup.farm.folder.appending("other.writer").description])
        let otherWriter = try await setup.client(token: String(decoding: try FileIO.readFile(setup.farm.folder.appending("other.writer")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        await Self.expectRefusal(403, .forbidden) { try await otherWriter.putObject(object.address, bytes: object.bytes) }
        await Self.expectRefusal(403, .forbidden) { _ = try await otherWriter.get(.object(object.address)) }
        try? await otherWriter.shutdown()

        // A writer may neither delete nor read back, and the attempt is recorded.
        await Self.expectRefusal(403, .forbidden) { try await setup.writer.delete(.object(object.address)) }
        await Self.expectRefusal(403, .forbidden) { _ = try await setup.writer.get(.object(object.address)) }
        let trail = try await SiteFarm.siteCLI(["audit-trail", "--data", data, "--json"]).standardOutput
        #expect(trail.contains("refused-delete"), "\(trail)")

        // Objects: wrong bytes for an address (an overwrite attempt, or corruption in transit).
        let other = try encoder.encode(kind: .chunk, children: [], body: SecureRandom.bytes(100), compression: .none)
        await Self.expectRefusal(422, .addressMismatch) { try await setup.writer.putObject(object.address, bytes: other.bytes) }
        await Self.expectRefusal(422, .malformedObject) {
            let junk = Array("not an object".utf8)
            try await setup.writer.putObject(ObjectAddress(SHA256Hasher.digest(junk)), bytes: junk)
        }
        try await setup.writer.putObject(object.address, bytes: object.bytes)

        // Bundles: one bad object refuses the whole bundle; a truncated bundle is a bad request.
        let fresh = try encoder.encode(kind: .chunk, children: [], body: SecureRandom.bytes(3000), compression: .none)
        await Self.expectRefusal(422, .addressMismatch) {
            _ = try await setup.writer.putObjects([(fresh.address, fresh.bytes), (object.address, other.bytes)])
        }
        #expect(try await setup.admin.size(.object(fresh.address)) == nil, "nothing of a refused bundle may be stored")
        var truncated: [UInt8] = []
        ObjectBundle.append(fresh.address, fresh.bytes, to: &truncated)
        let answer = try await Self.post(truncated.dropLast(10), to: setup.farm.sites[0].url + SiteRoute(.putObjects, tenant: setup.farm.tenant.tenant).target,
                                   token: try setup.farm.token(0, "writer"), folder: setup.farm.folder.path)
        #expect(answer.hasPrefix("400") && answer.contains("bad-request"), "\(answer)")
        #expect(try await setup.admin.size(.object(fresh.address)) == nil)
        let reader = try await setup.client(token: try setup.farm.token(0, "reader"))
        await Self.expectRefusal(403, .forbidden) { _ = try await reader.putObjects([(fresh.address, fresh.bytes)]) }
        try? await reader.shutdown()

        // Seals: out of chain, forged, another host's, reaching missing objects.
        let root = try await setup.snapshot()
        let skipping = try Seal.make(hostKey: setup.farm.host, previous: try Seal.make(hostKey: setup.farm.host, previous: first,
                                     time: Timestamp(seconds: 11, nanoseconds: 0), root: root, counts: SealCounts()),
                                     time: Timestamp(seconds: 12, nanoseconds: 0), root: root, counts: SealCounts())
        await Self.expectRefusal(409, .chainConflict) { _ = try await setup.writer.putSeal(skipping) }
        let fork = try Seal.make(hostKey: setup.farm.host, previous: nil, time: Timestamp(seconds: 13, nanoseconds: 0), root: root, counts: SealCounts())
        await Self.expectRefusal(409, .chainConflict) { _ = try await setup.writer.putSeal(fork) }
        let impostor = try TestKeys.tenant()
        let forgedCertificate = try HostCertificate.issue(by: impostor.certificationKey, tenant: setup.farm.tenant.tenant, hostName: "web1",
                                                          publicKey: setup.farm.host.signingKey.publicKey, issuedAt: 0)
        let forgedKey = HostKey(tenant: setup.farm.tenant.publicKey, signingKey: Ed25519PrivateKey.generate(), certificate: forgedCertificate,
                                writeSecrets: setup.farm.tenant.writeSecrets)
        let forged = try Seal.make(hostKey: forgedKey, previous: first, time: Timestamp(seconds: 14, nanoseconds: 0), root: root, counts: SealCounts())
        await Self.expectRefusal(403, .unknownSigner) { _ = try await setup.writer.putSeal(forged) }
        let web2 = try setup.farm.tenant.issueHostKey(hostName: "web2", issuedAt: 0)
        let otherHost = try Seal.make(hostKey: web2, previous: nil, time: Timestamp(seconds: 15, nanoseconds: 0), root: root, counts: SealCounts())
        await Self.expectRefusal(403, .wrongHost) { _ = try await setup.writer.putSeal(otherHost) }
        let dangling = try Seal.make(hostKey: setup.farm.host, previous: first, time: Timestamp(seconds: 16, nanoseconds: 0),
                                     root: ObjectAddress(Digest256(bytes: SecureRandom.bytes(32))), counts: SealCounts())
        await Self.expectRefusal(422, .missingObjects) { _ = try await setup.writer.putSeal(dangling) }
        var tampered = try Seal.make(hostKey: setup.farm.host, previous: first, time: Timestamp(seconds: 17, nanoseconds: 0), root: root, counts: SealCounts()).encoded
        tampered[tampered.count - 1] ^= 1
        await Self.expectRefusal(422, .badSignature) { _ = try await setup.writer.put(.seal(SealName(host: "web1", sequence: 2, hash: SHA256Hasher.digest(tampered))), tampered) }

        // Nothing that was stored changed; the new snapshot's objects were added, nothing else.
        let after = try await Self.inventory(setup.admin)
        for (key, bytes) in before { #expect(after[key] == bytes, "\(key) changed or vanished") }
        #expect(after.keys.filter { $0.sealName != nil }.count == 1, "no refused seal may be stored")
    }

    @Test func sigtermLetsUploadsFinishAndLeavesNothingHalfWritten() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-sigterm")
        defer { farm.remove() }
        var random = SeededRandom(seed: 3)
        try FileIO.makeDirectories(farm.source)
        for i in 0..<6 { try TreeGenerator.write(random.bytes(16 << 20), to: farm.source.appending("f\(i).bin")) }
        let backup = try farm.startBackup(["--wait", "2"])
        usleep(800_000)  // blocks on purpose: timing a kill, a starved Task.sleep would wake late
        let stopped = Date()
        farm.sites[0].stop()
        #expect(Date().timeIntervalSince(stopped) < 30, "SIGTERM must end the server within its grace period")
        backup.waitUntilExit()
        // Every indexed object is whole: its bytes in its pack hash to its name.
        let tenantFolder = farm.tenantFolder(0)
        var checked = 0
        for name in try tenantFolder.objectNames() {
            #expect(SHA256Hasher.digest(try tenantFolder.bytes(name)).hex == name)
            checked += 1
        }
        #expect(try FileIO.directoryEntries(tenantFolder.root.appending("tmp")).isEmpty)
        // After a restart, the host delivers the rest and the snapshot verifies.
        try farm.sites[0].start()
        #expect(try await farm.skiff(["sync", "--config", farm.hostConfiguration, "--timeout", "60"]).status == 0)
        #expect(try await farm.verify(at: 0).status == 0)
        _ = checked
    }

    /// kill -9 of the site at random moments while a host uploads into packs: after each
    /// restart every indexed object is whole, the host delivers what the site had not made
    /// durable, and in the end every snapshot audits clean and restores byte for byte.
    @Test func sigkillWhileUploadingLosesNothingAcknowledged() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-sigkill")
        defer { farm.remove() }
        var random = SeededRandom(seed: 5)
        try FileIO.makeDirectories(farm.source)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<4 {
            for i in 0..<3 { try TreeGenerator.write(random.bytes(12 << 20), to: farm.source.appending("r\(round)-\(i).bin")) }
            let backup = try farm.startBackup(["--wait", "2"])
            usleep(UInt32.random(in: 150_000...1_200_000, using: &generator))  // blocks on purpose: timing a kill
            farm.sites[0].kill()
            backup.waitUntilExit()
            let folder = farm.tenantFolder(0)
            for name in try folder.objectNames() {
                #expect(SHA256Hasher.digest(try folder.bytes(name)).hex == name, "round \(round): \(name) is not whole")
            }
            try farm.sites[0].start()
            let sync = try await farm.skiff(["sync", "--config", farm.hostConfiguration, "--timeout", "60"])
            #expect(sync.status == 0, "round \(round): \(sync)")
            #expect(try await farm.verify(at: 0).status == 0, "round \(round)")
        }
        let audit = try await farm.audit(["--deep"])
        #expect(audit.status == 0, "\(audit)")
        let restored = try await farm.restore(from: 0)
        #expect(try TreeComparison.differences(farm.source, restored).isEmpty)
    }

    @Test func aWrongPinIsRefusedAndOldTLSIsNotSpoken() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-tls")
        defer { farm.remove() }
        let config = try String(contentsOfFile: farm.hostConfiguration, encoding: .utf8)
        let wrong = config.replacingOccurrences(of: try await farm.fingerprint(0).replacingOccurrences(of: "sha256:", with: ""), with: String(repeating: "ab", count: 32))
        try TreeGenerator.write(Array(wrong.utf8), to: farm.folder.appending("wrong.yaml"))
        try FileIO.makeDirectories(farm.source)
        try TreeGenerator.write([1, 2, 3], to: farm.source.appending("x"))
        let backup = try await farm.skiff(["backup", farm.source.description, "--config", farm.folder.appending("wrong.yaml").description, "--wait", "3"])
        #expect(backup.status == 8, "\(backup)")
        let status = try await farm.skiff(["status", "--config", farm.folder.appending("wrong.yaml").description, "--json"])
        #expect(status.standardOutput.contains("not trusted"), "\(status)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") {
            let old = try await CommandRunner.run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(farm.sites[0].port)", "-tls1_1"], input: "")
            #expect(old.status != 0, "TLS 1.1 must be refused")
            let current = try await CommandRunner.run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(farm.sites[0].port)", "-tls1_2"], input: "")
            #expect(current.status == 0, "TLS 1.2 must be spoken: \(current.standardError.suffix(300))")
        }
    }
}
