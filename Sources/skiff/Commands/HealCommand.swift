import ArgumentParser
import Foundation
import Logging
import SkiffAudit
import SkiffCore
import SkiffSystem

struct HealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal",
        abstract: "Repair a site from another, without any key: copy the objects and seals it lacks or holds damaged.",
        discussion: """
            Walks the DAG of every seal at --to and of every seal --from holds that --to lacks; each object missing or
            damaged at --to is read from --from, checked against its address, and uploaded (the site verifies it again
            and replaces a damaged copy); then the missing seals are uploaded in chain order (--to needs an admin token:
            give it with --to-token-file, or in the configuration). A later `skiff audit` then comes back clean.
            Exit code 0: healed. 6: something could not be healed (damaged at --from too, or conflicting seals).
            """)

    @OptionGroup var sites: SiteOptions
    @OptionGroup var audit: AuditOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("The healthy site to copy from (reader, auditor or admin token).", valueName: "SITE"))
    var from: String
    @Option(name: .long, help: ArgumentHelp("The damaged site to repair (admin token).", valueName: "SITE"))
    var to: String
    @Option(name: .long, help: ArgumentHelp("The admin token for --to, instead of the configuration's token file.", valueName: "FILE"))
    var toTokenFile: String?

    func validate() throws {
        guard from != to else { throw ValidationError("--from and --to must name different sites") }
    }

    func run() async throws {
        let tenant = try audit.tenant()
        let configuration = try sites.load()
        let state = try audit.openState(configuration: configuration)
        let connected = try await ConnectedSources.sites(configuration, names: [from, to], tenant: tenant.tenant,
                                                         tokenOverrides: toTokenFile.map { [to: $0] } ?? [:])
        let report = try await withCleanup {
            try await heal(connected, tenant: tenant, state: state, configurationFile: configuration.file)
        } cleanup: {
            await connected.close()
        }
        if output.json {
            try JSONOutput.print(report)
        } else {
            for finding in report.unhealable { print("cannot heal \(finding)") }
            print("\(to): \(report.damagedFound) objects missing or damaged; copied \(report.objectsCopied) objects (\(Units.bytes(report.bytesCopied))) and \(report.sealsCopied.count) seals from \(from) in \(String(format: "%.2f", report.seconds)) s")
            print(report.complete ? "healed" : "\(report.unhealable.count) problems could not be healed")
        }
        if !report.complete { throw ExitCode(ExitStatus.integrity.rawValue) }
    }

    /// Heals `to` from `from` over the connected clients (closed by the caller).
    private func heal(_ connected: ConnectedSources, tenant: TenantPublicKey, state: AuditState, configurationFile: String) async throws -> HealReport {
        if let (name, why) = connected.unreachable.first { throw CommandFailure(.incomplete, "site \(name) cannot be reached: \(why)") }
        guard let source = connected.sources.first(where: { $0.name == from }), let target = connected.sources.first(where: { $0.name == to }),
              let client = connected.clients[to]
        else { throw CommandFailure(.usage, "--from and --to must name sites of \(configurationFile)") }
        let healer = Healer(tenant: tenant, state: state, options: audit.walkOptions, logger: Logger(label: "skiff.heal"))
        let progress = ProgressDisplay { elapsed in "healing \(to) from \(from): \(Int(elapsed)) s" }
        defer { progress.stop() }
        return try await healer.heal(from: source, to: target, target: client)
    }
}
