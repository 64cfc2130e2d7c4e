import ArgumentParser
import Foundation
import Logging
import SkiffAudit
import SkiffCore
import SkiffRestore
import SkiffSiteClient
import Synchronization

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Prove, without any decryption key, that sites hold complete, untampered replicas, and that they agree.",
        discussion: """
            For every host's seal chain at every site: each signature (against host certificates issued by the pinned
            tenant key), the chain's continuity (no gap, no fork, no rollback since the last audit), and every object the
            seals reach: present, and its bytes hash to its address. Then the sites are compared seal by seal.
            Incremental by default: objects an earlier audit verified (remembered in --state) are only checked for presence;
            --sample re-reads a random share of them, --deep all. With --restore-key every object is also decrypted.
            Exit code 0: clean. 6: findings (each typed and named). 10: some site could not be audited (unreachable,
            refused); findings take precedence.
            """)

    @OptionGroup var sites: SiteOptions
    @OptionGroup var audit: AuditOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Also decrypt every object with this restore key (AEAD tags, keyed identities).", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the restore key's passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() async throws {
        let tenant = try audit.tenant()
        let key = try restoreKey.map { try KeyFiles.restoreKey($0, passphrase: PassphraseSource(file: passphraseFile)) }
        if let key, key.publicKey.tenant != tenant.tenant { throw CommandFailure(.keyProblem, "the restore key belongs to another tenant than --tenant-key") }
        let configuration = try sites.load()
        let state = try audit.openState(configuration: configuration)
        let connected = try await ConnectedSources.sites(configuration, names: sites.site, tenant: tenant.tenant)
        let auditor = Auditor(tenant: tenant, state: state, options: audit.walkOptions, keyedCheck: key.map { DecryptingCheck(restoreKey: $0, tenant: tenant) },
                              logger: Logger(label: "skiff.audit"))
        let current = Mutex<(String, Int)>(("", 0))
        let progress = ProgressDisplay { elapsed in
            let (name, count) = current.withLock { $0 }
            return "auditing \(name): \(count) objects checked, \(Int(elapsed)) s"
        }
        var report = await auditor.audit(connected.sources) { name, count in current.withLock { $0 = (name, count) } }
        progress.stop()
        for (name, scrub) in await scrubStatuses(connected) { report.attach(scrub, to: name) }
        for (name, why) in connected.unreachable {
            report.sources.append(AuditReport.SourceSummary(name: name, reachable: false, error: why))
        }
        await connected.close()
        if output.json {
            try JSONOutput.print(report)
        } else {
            print(Self.describe(report))
        }
        if !report.findings.isEmpty { throw ExitCode(ExitStatus.integrity.rawValue) }
        if report.operationalFailure { throw ExitCode(ExitStatus.incomplete.rawValue) }
    }

    /// Each site's own scrub results, where the token may read them.
    private func scrubStatuses(_ connected: ConnectedSources) async -> [(String, ScrubStatusSummary)] {
        var statuses: [(String, ScrubStatusSummary)] = []
        for (name, client) in connected.clients.sorted(by: { $0.key < $1.key }) {
            if let status = try? await client.scrubStatus() { statuses.append((name, ScrubStatusSummary(status))) }
        }
        return statuses
    }

    static func describe(_ report: AuditReport) -> String {
        var lines: [String] = []
        for finding in report.findings { lines.append("finding \(finding)") }
        for source in report.sources {
            guard source.reachable else {
                lines.append("\(source.name): NOT AUDITED: \(source.error ?? "unreachable")")
                continue
            }
            var line = "\(source.name): \(source.seals) seals (\(source.completeSeals) complete), \(source.objectsRead) objects read"
            line += " (\(Units.bytes(source.bytesRead))), \(source.objectsTrusted) known objects present"
            if source.objectsReread > 0 { line += ", \(source.objectsReread) re-read" }
            if let scrub = source.scrub {
                line += "; site scrub: \(scrub.quarantined) quarantined"
                if let completed = scrub.lastCompletedPass { line += ", last pass \(completed)" }
            }
            line += "; \(source.findings) findings"
            lines.append(line)
        }
        let identical = report.seals.filter(\.identical).count
        lines.append("\(report.seals.count) seals; \(identical) proven identical at every audited site (equal roots, complete DAGs)")
        lines.append("mode: \(report.mode); \(String(format: "%.2f", report.seconds)) s")
        lines.append(report.isClean ? "clean" : report.findings.isEmpty ? "incomplete: some sites were not audited" : "\(report.findings.count) findings")
        return lines.joined(separator: "\n")
    }
}
