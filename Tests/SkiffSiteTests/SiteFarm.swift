import Foundation
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Synchronization

/// Several sites, a tenant with one host registered at each, tokens, and the host's
/// configuration file: everything a replication test needs, made with the real CLIs.
final class SiteFarm: Sendable {
    let folder: TemporaryDirectory
    let sites: [SiteProcess]
    let names: [String]
    let tenant: RestoreKey
    let host: HostKey
    let environment: [String: String]
    /// Agents started by `startAgent`, killed by `remove()` if still running.
    let agents = Mutex<[Process]>([])
    /// More site processes a test started (on copies of a site's data), stopped by `remove()`.
    let adopted = Mutex<[SiteProcess]>([])

    /// `initOptions` go to every `skiff-site init` (with `initEnvironment`), e.g. a bucket to keep objects in.
    init(sites count: Int, quorum: Int? = nil, label: String = "skiff-farm", serveOptions: [String] = ["--scrub-rate", "0"],
         initOptions: [String] = [], initEnvironment: [String: String] = [:]) async throws {
        folder = try TemporaryDirectory(label)
        tenant = try TestKeys.tenant()
        host = try TestKeys.host("web1", of: tenant)
        environment = ["SKIFF_PASSPHRASE": String(decoding: TestKeys.passphrase, as: UTF8.self)]
        try TreeGenerator.write(Array(try tenant.wrapped(passphrase: TestKeys.passphrase, parameters: TestKeys.fastScrypt).armored.utf8),
                                to: folder.appending("tenant.key"))
        try TreeGenerator.write(Array(tenant.publicKey.armored.utf8), to: folder.appending("tenant.pub"))
        try TreeGenerator.write(Array(host.armored.utf8), to: folder.appending("host.key"))
        try TreeGenerator.write(Array(host.certificate.armored(tenant: tenant.tenant).utf8), to: folder.appending("host.cert"))
        names = (0..<count).map { "site-\(Character(UnicodeScalar(UInt8(97 + $0))))" }
        var processes: [SiteProcess] = []
        // A failure half-way stops the sites already started: `deinit` does not run for an unfinished `init`.
        do {
            for name in names {
                let data = folder.appending(name)
                try await Self.siteCLI(["init", "--data", data.description, "--name", "127.0.0.1"] + initOptions, environment: initEnvironment)
                try await Self.siteCLI(["tenant", "add", "acme", "--data", data.description, "--key", folder.appending("tenant.pub").description])
                try await Self.siteCLI(["host", "add", "--data", data.description, "--certificate", folder.appending("host.cert").description])
                for (role, extra) in [("writer", ["--tenant", "acme", "--host", "web1"]), ("reader", ["--tenant", "acme"]), ("auditor", ["--tenant", "acme"]), ("admin", [String]())] {
                    try await Self.siteCLI(["token", "create", "--data", data.description, "--role", role, "--out",
                                      folder.appending("\(name).\(role)").description] + extra)
                }
                let process = SiteProcess(data: data, options: serveOptions)
                try process.start()
                processes.append(process)
            }
        } catch {
            for process in processes { process.stop() }
            throw error
        }
        sites = processes
        try await writeConfiguration(role: "writer", file: "host.yaml", quorum: quorum ?? count)
        try await writeConfiguration(role: "reader", file: "admin.yaml", quorum: 1)
        try await writeConfiguration(role: "auditor", file: "auditor.yaml", quorum: 1)
    }

    @discardableResult
    static func siteCLI(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        let result = try await CommandRunner.run(CommandRunner.executable("skiff-site"), arguments, environment: environment)
        guard result.status == 0 else { throw TestFailure("skiff-site \(arguments.joined(separator: " ")): \(result)") }
        return result
    }

    func fingerprint(_ index: Int) async throws -> String {
        try await Self.siteCLI(["fingerprint", "--data", sites[index].data.description]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func token(_ index: Int, _ role: String) throws -> String {
        String(decoding: try FileIO.readFile(folder.appending("\(names[index]).\(role)")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a host configuration listing every site with the tokens of `role`.
    func writeConfiguration(role: String, file: String, quorum: Int, timeout: Int = 30) async throws {
        var text = "host_key: host.key\nstate_dir: state\nquorum: \(quorum)\nquorum_timeout: \(timeout)\nsites:\n"
        for (index, name) in names.enumerated() {
            text += "  - name: \(name)\n    url: \(sites[index].url)\n    token_file: \(name).\(role)\n    fingerprint: \(try await fingerprint(index))\n"
        }
        try TreeGenerator.write(Array(text.utf8), to: folder.appending(file))
    }

    var hostConfiguration: String { folder.appending("host.yaml").description }
    var adminConfiguration: String { folder.appending("admin.yaml").description }
    var auditorConfiguration: String { folder.appending("auditor.yaml").description }

    /// `skiff audit` with the auditor's configuration and the farm's audit state.
    func audit(_ extra: [String] = []) async throws -> CommandResult {
        try await skiff(["audit", "--config", auditorConfiguration, "--tenant-key", folder.appending("tenant.pub").description,
                   "--state", folder.appending("audit.sqlite").description, "--json"] + extra)
    }

    /// The tenant's packed store folder at one site.
    func tenantFolder(_ index: Int) -> PackedFolder {
        PackedFolder(sites[index].data.appending("tenants").appending(tenant.tenant.hex))
    }

    /// Every stored object at one site (hex address and size), largest first.
    func objects(_ index: Int) throws -> [(hex: String, size: Int)] {
        try tenantFolder(index).objects()
    }
    var source: RawPath { folder.appending("data") }

    /// Starts `skiff backup` of the source with the host configuration (and `extra` arguments),
    /// its output discarded: for tests that kill it, or the site, while it runs.
    func startBackup(_ extra: [String] = []) throws -> Process {
        let backup = Process()
        backup.executableURL = URL(fileURLWithPath: CommandRunner.executable("skiff"))
        backup.arguments = ["backup", source.description, "--config", hostConfiguration] + extra
        backup.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        backup.standardOutput = FileHandle.nullDevice
        backup.standardError = FileHandle.nullDevice
        try backup.run()
        return backup
    }

    func skiff(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner.skiff(arguments, environment: environment)
    }

    func backup() async throws -> CommandResult {
        try await skiff(["backup", source.description, "--config", hostConfiguration, "--json"])
    }

    /// Restores the latest snapshot from one site and returns where `source` landed.
    func restore(from index: Int) async throws -> RawPath {
        let target = folder.appending("restore-\(names[index])-\(UInt32.random(in: 0...UInt32.max))")
        let result = try await skiff(["restore", "latest", "--config", adminConfiguration, "--site", names[index],
                                "--restore-key", folder.appending("tenant.key").description, "--to", target.description])
        guard result.status == 0 else { throw TestFailure("restore from \(names[index]): \(result)") }
        return RawPath(bytes: target.bytes + source.bytes)
    }

    func verify(at index: Int) async throws -> CommandResult {
        try await skiff(["verify", "--config", adminConfiguration, "--site", names[index], "--restore-key", folder.appending("tenant.key").description])
    }

    func stopAll() {
        for site in sites + adopted.withLock({ $0 }) { site.stop() }
    }

    /// Starts `process` and stops it with the farm's own sites.
    func adopt(_ process: SiteProcess) throws {
        adopted.withLock { $0.append(process) }
        try process.start()
    }

    /// Idempotent: stops every site and deletes the folder.
    func remove() {
        for agent in agents.withLock({ $0 }) where agent.isRunning {
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        stopAll()
        folder.remove()
    }

    /// A test that throws half-way leaves neither servers running nor files behind.
    deinit {
        remove()
    }
}
