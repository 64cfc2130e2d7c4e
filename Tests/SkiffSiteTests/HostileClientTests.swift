import Foundation
import SkiffCore
import SkiffSite
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffSystem
import SkiffTestSupport
import Testing

/// A site faces the network and serves many tenants: what a client with valid (or no) tokens
/// can do to it. Each test fails on a site that lacks the defence it names.
@Suite(.serialized) struct HostileClientTests {
    /// Open-ended, huge and overflowing ranges, and sequence numbers past Int64, once killed
    /// the site: now they are clamped, refused or answered, and it keeps serving.
    @Test func rangesAndSequencesFromTheRequestAreCheckedBeforeUse() async throws {
        let site = try await HostileSite(label: "skiff-hostile-range")
        defer { Task { await site.close() } }
        let object = try site.chunk(3000)
        try await site.writer.putObject(object.address, bytes: object.bytes)
        let reader = try site.token("reader")
        let objectURL = "\(site.tenantPath)/objects/\(object.address.hex)"
        let size = object.bytes.count
        for range in ["bytes=0-", "bytes=0-1099511627776", "bytes=0-9223372036854775807"] {
            let answer = try await RawAnswer.fetch("GET", objectURL, token: reader, headers: ["Range: \(range)"], folder: site.farm.folder)
            #expect(answer.status == 206 && answer.body == object.bytes, "\(range): \(answer.status) \(answer.body.count) bytes")
            #expect(answer.headers["content-range"] == "bytes 0-\(size - 1)/\(size)", "\(range): \(answer.headers)")
        }
        let middle = try await RawAnswer.fetch("GET", objectURL, token: reader, headers: ["Range: bytes=10-19"], folder: site.farm.folder)
        #expect(middle.status == 206 && middle.body == Array(object.bytes[10..<20]))
        for range in ["bytes=\(size)-", "bytes=9223372036854775807-"] {
            let answer = try await RawAnswer.fetch("GET", objectURL, token: reader, headers: ["Range: \(range)"], folder: site.farm.folder)
            #expect(answer.status == 416 && answer.code == .rangeNotSatisfiable, "\(range): \(answer.status) \(answer.text)")
        }
        let listing = try await RawAnswer.fetch("GET", "\(site.tenantPath)/seals?after=web1/18446744073709551615&limit=99999999999999999999",
                                          token: reader, folder: site.farm.folder)
        #expect(listing.status == 200 && listing.text.contains("\"seals\":[]"), "\(listing.status) \(listing.text)")
        let farSeal = "\(site.tenantPath)/seals/web1/ffffffffffffffff-\(String(repeating: "ab", count: 32))"
        let retire = try await RawAnswer.fetch("DELETE", farSeal, token: try site.token("admin"), folder: site.farm.folder)
        #expect(retire.status == 404 && retire.code == .notFound, "\(retire.status) \(retire.text)")
        let health = try await RawAnswer.fetch("GET", "\(site.url)/v1/health", folder: site.farm.folder)
        #expect(health.status == 200 && site.farm.sites[0].isRunning, "the site must still serve")
    }

    /// Every refused attempt to change something is in the trail with who, from where, what
    /// was asked and why, including those refused before the tenant check.
    @Test func everyRefusedChangeIsInTheAuditTrail() async throws {
        let site = try await HostileSite(label: "skiff-hostile-trail")
        defer { Task { await site.close() } }
        let object = try site.chunk(1000)
        try await site.writer.putObject(object.address, bytes: object.bytes)
        let objectURL = "\(site.tenantPath)/objects/\(object.address.hex)"
        let foreign = try await RawAnswer.fetch("DELETE", objectURL, token: site.otherWriterToken, folder: site.farm.folder)
        #expect(foreign.status == 403 && foreign.code == .forbidden)
        let upload = try await RawAnswer.fetch("PUT", objectURL, token: site.otherWriterToken, body: object.bytes, folder: site.farm.folder)
        #expect(upload.status == 403)
        let byReader = try await RawAnswer.fetch("PUT", objectURL, token: try site.token("reader"), body: object.bytes, folder: site.farm.folder)
        #expect(byReader.status == 403)
        let gc = try await RawAnswer.fetch("POST", "\(site.tenantPath)/gc", token: try site.token("auditor"), folder: site.farm.folder)
        #expect(gc.status == 403)

        let trail = try await site.trail()
        let otherWriter = try await site.tokenID(role: .writer, tenant: site.otherTenant)
        let deletion = try #require(trail.first { $0.action == "refused-delete-object" && $0.actor == otherWriter },
                                    "no refused deletion by \(otherWriter) in \(trail)")
        #expect(deletion.role == "writer")
        #expect(deletion.client == "127.0.0.1")
        #expect(deletion.tenant == site.farm.tenant.tenant.hex, "the tenant asked for, not the token's")
        #expect(deletion.subject == object.address.hex)
        #expect(deletion.code == "forbidden" && deletion.detail.contains("403"))
        #expect(trail.contains { $0.action == "refused-put-object" && $0.actor == otherWriter })
        #expect(trail.contains { $0.action == "refused-put-object" && $0.role == "reader" })
        #expect(trail.contains { $0.action == "refused-collect-garbage" && $0.role == "auditor" })
    }

    /// A tenant over its quota is refused with a code the host shows, keeps what it stored, and
    /// never takes another tenant's room; sealing frees the unsealed quota.
    @Test func quotasHoldEachTenantToItsOwnSpace() async throws {
        let site = try await HostileSite(label: "skiff-hostile-quota")
        defer { Task { await site.close() } }
        try await SiteFarm.siteCLI(["tenant", "quota", "--data", site.data, "--tenant", "acme", "--stored", "40K"])
        let first = try site.chunk(16_000), second = try site.chunk(16_000), third = try site.chunk(16_000)
        try await site.writer.putObject(first.address, bytes: first.bytes)
        try await site.writer.putObject(second.address, bytes: second.bytes)
        await RefusalTests.expectRefusal(507, .quotaExceeded) { try await site.writer.putObject(third.address, bytes: third.bytes) }
        await RefusalTests.expectRefusal(507, .quotaExceeded) {
            _ = try await site.writer.putObjects([(third.address, third.bytes), (first.address, first.bytes)])
        }
        #expect(try await site.writer.missing([first.address, second.address, third.address]) == [third.address])
        let trail = try await site.trail()
        #expect(trail.contains { $0.code == "quota-exceeded" && $0.action == "refused-put-objects" })

        // The other tenant is not held by acme's quota.
        let other = try await SiteClient.connect(
            SiteEndpoint(name: "a", url: site.url, token: site.otherWriterToken, trust: .pinned(fingerprint: try site.farm.fingerprint(0))),
            tenant: site.otherTenant)
        let otherSession = try WriteSession.start(config: site.farm.tenant.publicKey.config, tenant: site.farm.tenant.publicKey,
                                                  writeSecrets: site.farm.tenant.writeSecrets)
        let foreignObject = try ObjectEncoder(session: otherSession).encode(kind: .chunk, children: [], body: SecureRandom.bytes(64_000), compression: .none)
        try await other.putObject(foreignObject.address, bytes: foreignObject.bytes)
        try? await other.shutdown()

        // Unsealed uploads: 20 KiB may wait for a seal; a seal reaching them frees the room.
        try await SiteFarm.siteCLI(["tenant", "quota", "--data", site.data, "--tenant", "acme", "--stored", "none", "--unsealed", "20K"])
        try await Task.sleep(for: .seconds(6))  // the serving process re-reads quotas every 5 s
        let a = try site.chunk(12_000), b = try site.chunk(12_000)
        try await site.writer.putObject(a.address, bytes: a.bytes)
        await RefusalTests.expectRefusal(507, .quotaExceeded) { try await site.writer.putObject(b.address, bytes: b.bytes) }
        let root = try await site.snapshot(reaching: [a])
        _ = try await site.writer.putSeal(try Seal.make(hostKey: site.farm.host, previous: nil, time: Timestamp(seconds: 10, nanoseconds: 0),
                                                        root: root, counts: SealCounts()))
        try await site.writer.putObject(b.address, bytes: b.bytes)

        // The serving process reports use; an administrator sees it against the quota.
        try await Task.sleep(for: .seconds(2))
        let report = try await SiteFarm.siteCLI(["tenant", "quota", "--data", site.data, "--tenant", "acme", "--json"]).standardOutput
        /// What `skiff-site tenant quota --json` prints.
        struct QuotaReport: Decodable {
            var quota: TenantQuota
            var usage: TenantUsage?
        }
        let decoded = try HostileSite.decode(QuotaReport.self, report)
        let usage = try #require(decoded.usage, "\(report)")
        #expect(usage.storedBytes >= 32_000 && usage.counted, "\(report)")
        #expect(usage.unsealedBytes >= 12_000 && usage.unsealedBytes < 20_000, "only b is unsealed: \(report)")
        #expect(decoded.quota.unsealedBytes == 20 << 10 && decoded.quota.storedBytes == nil, "\(report)")
    }

    /// The host's status names the quota when a site refuses its uploads for it.
    @Test func aHostOverQuotaSaysSo() async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-hostile-quota-host")
        defer { farm.remove() }
        try await SiteFarm.siteCLI(["tenant", "quota", "--data", farm.sites[0].data.description, "--tenant", "acme", "--stored", "64K"])
        try FileIO.makeDirectories(farm.source, mode: 0o755)
        try TreeGenerator.write(SecureRandom.bytes(1 << 20), to: farm.source.appending("big.bin"))
        try await farm.writeConfiguration(role: "writer", file: "host.yaml", quorum: 1, timeout: 3)
        let backup = try await farm.backup()
        #expect(backup.status == 8, "sealed but not at the quorum: \(backup)")
        let status = try await farm.skiff(["status", "--config", farm.hostConfiguration, "--json"])
        #expect(status.standardOutput.contains("quota-exceeded"), "\(status)")
    }

    /// Wrong tokens from one address are throttled after a burst, without a lookup each, and
    /// the moment is in the trail; a token that worked from that address keeps working.
    @Test func failedAuthenticationIsThrottledPerAddress() async throws {
        let site = try await HostileSite(label: "skiff-hostile-auth")
        defer { Task { await site.close() } }
        let listURL = "\(site.tenantPath)/seals"
        let reader = try site.token("reader")
        #expect(try await RawAnswer.fetch("GET", listURL, token: reader, folder: site.farm.folder).status == 200)
        var statuses: [Int] = []
        let started = ContinuousClock.now
        for attempt in 0..<30 {
            let answer = try await RawAnswer.fetch("GET", listURL, token: "skt_guess\(attempt)", folder: site.farm.folder)
            statuses.append(answer.status)
            if answer.status == 429 {
                #expect(answer.code == .tooManyFailures && Int(answer.headers["retry-after"] ?? "") ?? 0 >= 1, "\(answer.headers)")
            }
        }
        // One more try every 3 s: a slow machine may earn a few between the attempts.
        func refills() -> Int { Int((ContinuousClock.now - started) / .seconds(3)) }
        #expect(statuses.prefix(20).allSatisfy { $0 == 401 } && statuses.dropFirst(20).contains(429)
                && statuses.filter { $0 == 401 }.count <= 20 + refills() && statuses.allSatisfy { $0 == 401 || $0 == 429 },
                "\(statuses) in \(refills() * 3)+ s")
        #expect(try await RawAnswer.fetch("GET", listURL, token: reader, folder: site.farm.folder).status == 200, "a token known to work still works")
        // A token not seen from this address, and no token, wait like the rest (or spend a try
        // the clock earned meanwhile).
        let auditor = try await RawAnswer.fetch("GET", listURL, token: try site.token("auditor"), folder: site.farm.folder).status
        #expect(auditor == 429 || (auditor == 200 && refills() > 0), "\(auditor) after \(refills() * 3)+ s")
        statuses.append(try await RawAnswer.fetch("GET", listURL, folder: site.farm.folder).status)
        let failures = statuses.filter { $0 == 401 }.count
        #expect([401, 429].contains(statuses.last!) && failures <= 20 + refills(), "\(statuses) in \(refills() * 3)+ s")
        #expect(try await site.trail().contains { $0.action == "auth-throttled" && $0.client == "127.0.0.1" })
        let metrics = try await RawAnswer.fetch("GET", "\(site.url)/metrics", folder: site.farm.folder).text
        #expect(metrics.contains("skiff_site_auth_failures_total \(failures)") && metrics.contains("skiff_site_auth_throttled_total"), "\(metrics)")
    }

    /// Anonymous metrics carry no tenant or host names or ids; an administrator's token adds
    /// them, any other token is refused.
    @Test func anonymousMetricsNameNoTenantOrHost() async throws {
        let site = try await HostileSite(label: "skiff-hostile-metrics")
        defer { Task { await site.close() } }
        let object = try site.chunk(2000)
        try await site.writer.putObject(object.address, bytes: object.bytes)
        let root = try await site.snapshot(reaching: [object])
        _ = try await site.writer.putSeal(try Seal.make(hostKey: site.farm.host, previous: nil, time: Timestamp(seconds: 10, nanoseconds: 0),
                                                        root: root, counts: SealCounts()))
        try await Task.sleep(for: .seconds(2))
        let anonymous = try await RawAnswer.fetch("GET", "\(site.url)/metrics", folder: site.farm.folder)
        #expect(anonymous.status == 200 && anonymous.text.contains("skiff_site_seals_accepted_total 1"), "\(anonymous.text)")
        for secret in ["acme", "other", "web1", site.farm.tenant.tenant.hex, site.otherTenant.hex, "tenant=", "host="] {
            #expect(!anonymous.text.contains(secret), "anonymous metrics show \(secret)")
        }
        let detailed = try await RawAnswer.fetch("GET", "\(site.url)/metrics", token: try site.token("admin"), folder: site.farm.folder).text
        #expect(detailed.contains("skiff_site_tenant_seals_accepted_total{tenant=\"acme\",host=\"web1\"} 1"), "\(detailed)")
        #expect(detailed.contains("skiff_site_tenant_stored_bytes{tenant=\"acme\"}"))
        #expect(try await RawAnswer.fetch("GET", "\(site.url)/metrics", token: try site.token("writer"), folder: site.farm.folder).status == 403)
        #expect(try await RawAnswer.fetch("GET", "\(site.url)/metrics", token: "skt_wrong", folder: site.farm.folder).status == 401)
    }

    /// What a site can check of a seal without keys: time, order, counts and root kind.
    @Test func implausibleSealsAreRefused() async throws {
        let site = try await HostileSite(label: "skiff-hostile-seals")
        defer { Task { await site.close() } }
        let chunk = try site.chunk(500)
        try await site.writer.putObject(chunk.address, bytes: chunk.bytes)
        let root = try await site.snapshot(reaching: [chunk])
        let host = site.farm.host
        let now = Int64(Date().timeIntervalSince1970)
        func seal(_ seconds: Int64, previous: Seal? = nil, root: ObjectAddress = root, counts: SealCounts = SealCounts()) throws -> Seal {
            var made = try Seal.make(hostKey: host, previous: previous, time: Timestamp(seconds: 0, nanoseconds: 0), root: root, counts: counts)
            // Seal.make never goes back in time; a hostile writer signs whatever it likes.
            made.time = Timestamp(seconds: seconds, nanoseconds: 0)
            made.signature = try host.signingKey.signature(for: Seal.signedMessage(made.unsignedBytes))
            return made
        }
        for (name, bad) in [("year 2200", try seal(7_258_118_400)), ("negative time", try seal(-5)),
                            ("2^62 files", try seal(now, counts: SealCounts(files: 1 << 62))),
                            ("a chunk as root", try seal(now, root: chunk.address))] {
            await RefusalTests.expectRefusal(422, .implausibleSeal) { _ = try await site.writer.putSeal(bad) }
            _ = name
        }
        let first = try seal(now - 100)
        #expect(try await site.writer.putSeal(first))
        await RefusalTests.expectRefusal(422, .implausibleSeal) { _ = try await site.writer.putSeal(try seal(now - 200, previous: first)) }
        #expect(try await site.writer.putSeal(try seal(now, previous: first)))
        let audit = try await site.farm.audit(["--deep"])
        #expect(audit.status == 0, "the accepted chain audits clean: \(audit)")
    }

    /// Writer tokens are only for registered hosts, and a removed host's token writes nothing.
    @Test func writersNeedARegisteredHost() async throws {
        let site = try await HostileSite(label: "skiff-hostile-writer")
        defer { Task { await site.close() } }
        let create = try await CommandRunner.run(CommandRunner.executable("skiff-site"), [
            "token", "create", "--data", site.data, "--role", "writer", "--tenant", "acme", "--host", "ghost",
            "--out", site.farm.folder.appending("ghost.writer").description,
        ])
        #expect(create.status != 0 && create.standardError.contains("no host ghost is registered"), "\(create)")
        #expect(!FileManager.default.fileExists(atPath: site.farm.folder.appending("ghost.writer").description))
        let object = try site.chunk(800)
        try await site.writer.putObject(object.address, bytes: object.bytes)
        try await SiteFarm.siteCLI(["host", "remove", "--data", site.data, "--tenant", "acme", "web1"])
        try await Task.sleep(for: .seconds(6))  // tokens are cached for up to 5 s
        let again = try site.chunk(800)
        await RefusalTests.expectRefusal(403, .forbidden) { try await site.writer.putObject(again.address, bytes: again.bytes) }
        await RefusalTests.expectRefusal(403, .forbidden) { _ = try await site.writer.missing([again.address]) }
    }

    /// A request body that trickles in is cut off once it falls below the minimum rate; one
    /// that arrives at speed is not.
    @Test func slowUploadsAreCutOff() async throws {
        let site = try await HostileSite(label: "skiff-hostile-slow", serveOptions: ["--scrub-rate", "0", "--min-upload-rate", "256"])
        defer { Task { await site.close() } }
        let object = try site.chunk(3 << 20)
        let path = "/v1/tenants/\(site.farm.tenant.tenant.hex)/objects/\(object.address.hex)"
        // Python's ssl: send the head and then one KiB a second, and time how long the site keeps listening.
        let script = """
            import socket, ssl, sys, time
            context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
            connection = context.wrap_socket(socket.create_connection(("127.0.0.1", \(site.farm.sites[0].port))), server_hostname="127.0.0.1")
            connection.sendall(b"PUT \(path) HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Bearer \(try site.token("writer"))\\r\\nContent-Length: \(object.bytes.count)\\r\\n\\r\\n")
            started = time.time()
            try:
                while time.time() - started < 60:
                    connection.sendall(b"x" * 1024)
                    time.sleep(1)
                print("still open after 60 s")
            except OSError:
                print("closed after %.0f s" % (time.time() - started))
            """
        let result = try await CommandRunner.run("/usr/bin/python3", ["-c", script])
        let seconds = Double(result.standardOutput.split(separator: " ").dropFirst(2).first ?? "") ?? 999
        #expect(result.standardOutput.hasPrefix("closed after") && seconds >= 9 && seconds <= 20, "\(result)")
        try await site.writer.putObject(object.address, bytes: object.bytes)
        let metrics = try await RawAnswer.fetch("GET", "\(site.url)/metrics", folder: site.farm.folder).text
        #expect(metrics.contains("skiff_site_slow_clients_closed_total{reason=\"too-slow\"} 1"), "\(metrics)")
    }

    /// However many clients send large bundles at once, the bodies the site holds stay within
    /// its budget: the rest wait their turn, unread, and succeed.
    @Test func bodiesInFlightStayWithinTheBudget() async throws {
        // The longest wait (the budget is what is tested; a wait's limit has its own test).
        let site = try await HostileSite(label: "skiff-hostile-budget", serveOptions: ["--scrub-rate", "0", "--body-memory", "16", "--body-wait", "55"])
        defer { Task { await site.close() } }
        var bundle: [UInt8] = []
        for _ in 0..<3 {
            let object = try site.chunk(4 << 20)
            ObjectBundle.append(object.address, object.bytes, to: &bundle)
        }
        let file = site.farm.folder.appending("bundle")
        try TreeGenerator.write(bundle, to: file)
        let answers = try await Self.post(file, concurrently: 8, to: "\(site.tenantPath)/objects", token: try site.token("writer"))
        #expect(answers.allSatisfy { $0.hasSuffix("200") }, "every bundle is stored once it has room: \(answers.map { $0.suffix(3) })")
        let metrics = try await RawAnswer.fetch("GET", "\(site.url)/metrics", folder: site.farm.folder).text
        let peak = metrics.split(separator: "\n").first { $0.hasPrefix("skiff_site_body_bytes_in_flight_peak ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        #expect(peak >= Double(12 << 20) && peak <= Double(16 << 20), "a 12 MiB bundle reserves its length, two never fit in 16 MiB: peak \(peak)")
        #expect(metrics.contains("skiff_site_body_waits_total"), "8 bundles cannot all fit at once")
        print("site peak RSS with 8 concurrent 12 MiB bundles and a 16 MiB body budget: \(try site.peakMemory() >> 20) MiB")
    }

    /// POSTs a bundle file `count` times at once with curl; each answer is its headers then its status.
    static func post(_ file: RawPath, concurrently count: Int, to url: String, token: String) async throws -> [String] {
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await CommandRunner.run("/usr/bin/curl", ["-sk", "-X", "POST", "--data-binary", "@\(file)", "-H", "Authorization: Bearer \(token)",
                                                            "-H", "Content-Type: \(ObjectBundle.contentType)", "-D", "-", "-o", "/dev/null",
                                                            "-w", "%{http_code}", url]).standardOutput
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test func requestsThatWaitTooLongAreTurnedAway() async throws {
        let site = try await HostileSite(label: "skiff-hostile-overload",
                                         serveOptions: ["--scrub-rate", "0", "--body-memory", "16", "--body-wait", "1"])
        defer { Task { await site.close() } }
        var bundle: [UInt8] = []
        for _ in 0..<6 {
            let object = try site.chunk(4 << 20)
            ObjectBundle.append(object.address, object.bytes, to: &bundle)
        }
        let file = site.farm.folder.appending("bundle")
        try TreeGenerator.write(bundle, to: file)
        let answers = try await Self.post(file, concurrently: 12, to: "\(site.tenantPath)/objects", token: try site.token("writer"))
        let refused = answers.filter { $0.hasSuffix("503") }
        #expect(!refused.isEmpty && answers.allSatisfy { $0.hasSuffix("200") || $0.hasSuffix("503") }, "\(answers.map { $0.suffix(3) })")
        #expect(refused.allSatisfy { $0.lowercased().contains("retry-after: 2") }, "\(refused)")
    }

    /// A seal body over its limit is `413 too-large`, as docs/PROTOCOL.md says.
    @Test func anOversizedSealIsTooLarge() async throws {
        let site = try await HostileSite(label: "skiff-hostile-sealsize")
        defer { Task { await site.close() } }
        let answer = try await RawAnswer.fetch("PUT", "\(site.tenantPath)/seals", token: try site.token("writer"), body: SecureRandom.bytes(2048),
                                         folder: site.farm.folder)
        #expect(answer.status == 413 && answer.code == .tooLarge, "\(answer.status) \(answer.text)")
    }
}
