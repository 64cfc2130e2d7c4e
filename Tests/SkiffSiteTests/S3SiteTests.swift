import Foundation
import SkiffAudit
import SkiffCore
import SkiffSite
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Sites whose objects and seals live in an S3 bucket (moto's server on loopback): two
/// `skiff-site` processes on one bucket, as behind a load balancer, serving three hosts.
@Suite(.serialized) struct S3SiteTests {
    static let credentials = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"]
    static let bucket = "skiff-sites"
    static let prefix = "recovery-centre"

    /// A host configuration with one site, "recovery", reached at `url`: switching the URL
    /// between rounds is what a load balancer does.
    static func configure(_ host: String, url: String, farm: SiteFarm) async throws -> String {
        let text = """
            host_key: \(host).key
            state_dir: state-\(host)
            quorum: 1
            quorum_timeout: 60
            sites:
              - name: recovery
                url: \(url)
                token_file: site-a.writer-\(host)
                fingerprint: \(try await farm.fingerprint(0))

            """
        let path = farm.folder.appending("\(host)-recovery.yaml")
        try TreeGenerator.write(Array(text.utf8), to: path)
        return path.description
    }

    static func aws(_ arguments: [String], moto: MotoServer) async throws -> CommandResult {
        try await CommandRunner.run("/usr/bin/env", ["aws", "--endpoint-url", moto.endpoint] + arguments, environment: credentials)
    }

    /// One farm whose site keeps objects in a fresh moto bucket, plus a second `serve` process
    /// on a copy of its data folder (registry, tokens, certificate), made while the first is
    /// stopped so the SQLite copy is whole. Hosts are registered before the copy.
    static func sharedBucketFarm(moto: MotoServer, hosts: [String]) async throws -> (farm: SiteFarm, processes: [SiteProcess]) {
        let farm = try await SiteFarm(
            sites: 1, label: "skiff-s3",
            initOptions: ["--s3-endpoint", moto.endpoint, "--s3-bucket", bucket, "--s3-prefix", prefix, "--s3-create-bucket", "--s3-store-credentials"],
            initEnvironment: credentials)
        for host in hosts { _ = try await RetentionTests.addHost(host, to: farm) }
        let first = farm.sites[0]
        first.stop()
        let secondData = farm.folder.appending("site-b")
        guard try await CommandRunner.run("/bin/cp", ["-a", first.data.description, secondData.description]).status == 0 else { throw TestFailure("cp -a") }
        try first.start()
        let second = SiteProcess(data: secondData)
        try farm.adopt(second)
        return (farm, [first, second])
    }

    /// A cloned host (one key, two machines) makes two different seals #1, each in a local
    /// repository; with every object already in the bucket, the two seals go to the two processes
    /// at the same moment. Whether the race is lost at the claim or at the chain check, exactly
    /// one is accepted and the other refused with `chain-conflict`; the chain stays whole.
    @Test func twoProcessesNeverAcceptTwoSealsWithOneSequence() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let (farm, processes) = try await Self.sharedBucketFarm(moto: moto, hosts: ["db1"])
        defer { farm.remove() }
        let tenant = farm.tenant.tenant.hex
        let token = try String(decoding: FileIO.readFile(farm.folder.appending("site-a.writer-db1")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var sealFiles: [RawPath] = []
        for index in 0..<2 {
            let source = farm.folder.appending("clone-\(index)")
            var random = SeededRandom(seed: UInt64(40 + index))
            try FileIO.makeDirectories(source)
            try TreeGenerator.write(random.bytes(200_000), to: source.appending("payload.bin"))
            let repo = farm.folder.appending("repo-\(index)")
            try await Repository(store: try FileSystemStore.create(at: repo), location: "clone").initialize(with: farm.tenant.publicKey)
            let backup = try await farm.skiff(["backup", source.description, "--repo", repo.description, "--host-key",
                                         farm.folder.appending("db1.key").description])
            try #require(backup.status == 0, "\(backup)")
            let packed = PackedFolder(repo)
            for name in try packed.objectNames() {
                let body = farm.folder.appending("object-\(index)")
                try TreeGenerator.write(try packed.bytes(name), to: body)
                let upload = try await CommandRunner.run("/usr/bin/curl", [
                    "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Authorization: Bearer \(token)",
                    "--data-binary", "@\(body)", "\(processes[index].url)/v1/tenants/\(tenant)/objects/\(name)"])
                try #require(["200", "201", "204"].contains(upload.standardOutput), "\(upload)")
            }
            let seals = try FileIO.directoryEntries(repo.appending("seals/db1"))
            try #require(seals.count == 1 && String(decoding: seals[0], as: UTF8.self).hasPrefix("0000000000000001-"))
            sealFiles.append(repo.appending("seals/db1").appending(seals[0]))
        }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for (index, file) in sealFiles.enumerated() {
                group.addTask {
                    try await CommandRunner.run("/usr/bin/curl", [
                        "-sk", "-w", " %{http_code}", "-X", "PUT", "-H", "Authorization: Bearer \(token)", "--data-binary", "@\(file)",
                        "\(processes[index].url)/v1/tenants/\(tenant)/seals"]).standardOutput
                }
            }
            var answers: [String] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.filter { $0.hasSuffix(" 201") || $0.hasSuffix(" 200") }.count == 1, "\(answers)")
        #expect(answers.filter { $0.hasSuffix(" 409") && $0.contains("chain-conflict") }.count == 1, "\(answers)")
        let tenantPrefix = "s3://\(Self.bucket)/\(Self.prefix)/tenants/\(tenant)"
        let seals = try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/seals/"], moto: moto)
        #expect(seals.standardOutput.split(separator: "\n").count == 1, "one seal #1 in the bucket: \(seals.standardOutput)")
        let claims = try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/chains/"], moto: moto)
        #expect(claims.standardOutput.split(separator: "\n").count == 1, "\(claims.standardOutput)")
        let audit = try await farm.skiff(["audit", "--config", try Self.auditorConfiguration(farm, processes, token: "site-a.auditor").description,
                                    "--tenant-key", farm.folder.appending("tenant.pub").description,
                                    "--state", farm.folder.appending("audit-s3.sqlite").description, "--json"])
        #expect(audit.status == 0, "\(audit)")
        let report = try AuditTests.report(audit)
        #expect(report.seals.count == 1 && report.sources.allSatisfy { $0.seals == 1 }, "\(report.sources)")
    }

    /// Both processes as two sources of one auditor configuration.
    static func auditorConfiguration(_ farm: SiteFarm, _ processes: [SiteProcess], token: String) async throws -> RawPath {
        let path = farm.folder.appending("\(token)-s3.yaml")
        var text = "host_key: host.key\nstate_dir: state\nquorum: 1\nsites:\n"
        for (name, process) in zip(["via-a", "via-b"], processes) {
            text += "  - name: \(name)\n    url: \(process.url)\n    token_file: \(token)\n    fingerprint: \(try await farm.fingerprint(0))\n"
        }
        try TreeGenerator.write(Array(text.utf8), to: path)
        return path
    }

    @Test func twoSiteProcessesOnOneBucketServeThreeHostsAuditCleanRestoreAndCollect() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let hosts = ["db1", "app1", "web2"]
        let (farm, processes) = try await Self.sharedBucketFarm(moto: moto, hosts: hosts)
        defer { farm.remove() }
        let secondData = processes[1].data

        // Three rounds; in each, the three hosts back up at once, each through the process the
        // "load balancer" gives it this round, so every chain continues across both processes.
        for round in 0..<3 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, host) in hosts.enumerated() {
                    var random = SeededRandom(seed: UInt64(round * 10 + index + 1))
                    let source = farm.folder.appending("data-\(host)")
                    try RetentionTests.change(source, round: round, random: &random)
                    let config = try await Self.configure(host, url: processes[(index + round) % 2].url, farm: farm)
                    group.addTask {
                        let result = try await farm.skiff(["backup", source.description, "--config", config])
                        guard result.status == 0 else { throw TestFailure("round \(round), \(host): \(result)") }
                    }
                }
                try await group.waitForAll()
            }
        }

        #expect(!FileIO.exists(farm.sites[0].data.appending("tenants").appending(farm.tenant.tenant.hex)), "nothing of the tenant is on local disk")

        // A keyless deep audit through each process sees the same nine seals, whole.
        let auditorConfig = try await Self.auditorConfiguration(farm, processes, token: "site-a.auditor")
        func audit() async throws -> AuditReport {
            let result = try await farm.skiff(["audit", "--config", auditorConfig.description, "--tenant-key", farm.folder.appending("tenant.pub").description,
                                         "--state", farm.folder.appending("audit-s3.sqlite").description, "--deep", "--json"])
            #expect(result.status == 0, "\(result)")
            return try AuditTests.report(result)
        }
        let report = try await audit()
        #expect(report.isClean && report.seals.count == 9 && report.seals.allSatisfy(\.identical), "\(report.findings)")
        #expect(report.sources.allSatisfy { $0.completeSeals == 9 }, "\(report.sources)")

        // Every host's newest snapshot restores identically through either process.
        let adminConfig = try await Self.auditorConfiguration(farm, processes, token: "site-a.reader")
        for (index, host) in hosts.enumerated() {
            let target = farm.folder.appending("restored-\(host)")
            let site = index % 2 == 0 ? "via-a" : "via-b"
            let restore = try await farm.skiff(["restore", "latest", "--config", adminConfig.description, "--site", site, "--host", host,
                                          "--restore-key", farm.folder.appending("tenant.key").description, "--to", target.description])
            #expect(restore.status == 0, "\(restore)")
            let source = farm.folder.appending("data-\(host)")
            #expect(try TreeComparison.differences(source, RawPath(bytes: target.bytes + source.bytes)).isEmpty, "\(host) via \(site)")
        }

        // The AWS CLI, an independent client, lists the seals Skiff wrote and fetches a pack whose
        // records all hash to their addresses.
        let tenantPrefix = "s3://\(Self.bucket)/\(Self.prefix)/tenants/\(farm.tenant.tenant.hex)"
        let listing = try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/seals/"], moto: moto)
        #expect(listing.status == 0, "\(listing)")
        let sealLines = listing.standardOutput.split(separator: "\n").filter { $0.contains("/seals/") }
        #expect(sealLines.count == 9, "\(listing.standardOutput)")
        let packs = try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/packs/"], moto: moto)
        let packLines = packs.standardOutput.split(separator: "\n")
        let packKey = try #require(packLines.first?.split(separator: " ").last, "\(packs)")
        #expect(try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/objects/"], moto: moto).standardOutput.isEmpty,
                "objects live in packs, not one key each")
        let fetched = farm.folder.appending("fetched-pack")
        #expect(try await Self.aws(["s3", "cp", "s3://\(Self.bucket)/\(packKey)", fetched.description], moto: moto).status == 0)
        let pack = try FileIO.readFile(fetched)
        let scanned = pack.withUnsafeBytes { PackLayout.scanRecords($0) }
        #expect(!scanned.entries.isEmpty && pack.count - scanned.end > PackLayout.footerSize, "every record hashes to its address, then the trailer")

        // Retention through the second process retires each host's older seals; a
        // collection there deletes the garbage from the bucket, and both processes still audit
        // clean (the first learns of the retirements from the bucket).
        try await Task.sleep(for: .seconds(2))
        func siteCLI(_ arguments: [String]) async throws -> CommandResult {
            try await CommandRunner.run(CommandRunner.executable("skiff-site"), arguments + ["--data", secondData.description, "--tenant", "acme"])
        }
        #expect(try await siteCLI(["retention", "set", "--keep-within", "1s", "--grace", "0s", "--reuse-horizon", "0s"]).status == 0)
        let apply = try await siteCLI(["retention", "apply", "--json"])
        #expect(apply.status == 0, "\(apply)")
        // At least the first round of each host (the later ones may lie within 1 s of the newest).
        let retired = try SiteAPI.jsonDecoder().decode(RetirementReport.self, from: Data(apply.standardOutput.utf8)).retired.count
        #expect(retired >= 3 && retired <= 6, "\(apply)")
        let gc = try await siteCLI(["gc", "--json"])
        #expect(gc.status == 0, "\(gc)")
        let collection = try SiteAPI.jsonDecoder().decode(CollectionReport.self, from: Data(gc.standardOutput.utf8))
        #expect(collection.deletedObjects > 0 && collection.roots == 9 - retired, "\(collection)")
        #expect(collection.counts.compaction.packsRewritten > 0, "\(collection)")
        let afterPacks = try await Self.aws(["s3", "ls", "--recursive", "\(tenantPrefix)/packs/"], moto: moto)
        #expect(afterPacks.standardOutput.split(separator: "\n").count <= packLines.count, "\(afterPacks.standardOutput)")
        let thinned = try await audit()
        #expect(thinned.isClean && thinned.sources.allSatisfy { $0.completeSeals == 9 - retired && $0.retiredSeals == retired },
                "\(thinned.findings) \(thinned.sources)")
    }
}
