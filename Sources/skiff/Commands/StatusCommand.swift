import ArgumentParser
import Foundation
import Logging
import SkiffReplication
import SkiffSystem

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each configured site: reachable, last accepted seal, lag, backlog, recovery point.",
        discussion: """
            RPO now: age of the oldest change sealed but not yet held by the site (by the quorum, \
            last line). RPO 24h: the time from a change seen by the agent to a site's acknowledgement \
            of the seal that answers it, p50/p99/max over the last day. --json prints {"sites": [...], "quorum": {...}}.
            """)

    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Host key file (default: the configuration's host_key).", valueName: "FILE"))
    var hostKey: String?

    func run() async throws {
        let configuration = try sites.load()
        let key = try KeyFiles.hostKey(hostKey ?? configuration.hostKey)
        let replicator = try Replicator(
            layout: configuration.stateLayout, sites: try SiteOptions.endpoints(configuration),
            tenant: key.tenant.tenant, quorum: configuration.quorum, logger: Logger(label: "skiff.status"))
        let status = try await withCleanup { try await replicator.replicationStatus() } cleanup: { await replicator.shutdown() }
        let (statuses, quorum) = (status.sites, status.quorum)
        if output.json {
            try JSONOutput.print(status)
            return
        }
        var table = TextTable(header: ["Site", "Reachable", "Last seal", "Site holds", "Seal time", "Lag", "Backlog", "RPO now", "RPO 24h p50/p99/max", "Last error"])
        for status in statuses {
            table.rows.append([
                status.site, status.reachable ? "yes" : "no", status.lastSeal ?? "-", status.siteNewestSeal ?? "-", status.lastSealTime ?? "-",
                String(format: "%.1f s", status.lagSeconds), "\(status.backlogEntries) (\(Units.bytes(status.backlogBytes)))",
                String(format: "%.1f s", status.rpoSeconds), Self.describe(status.rpoLastDay),
                status.lastError.map { String($0.prefix(60)) } ?? "-",
            ])
        }
        table.rows.append(["quorum of \(quorum.quorum)", "", "", "", "", "", "", String(format: "%.1f s", quorum.rpoSeconds), Self.describe(quorum.rpoLastDay), ""])
        print(table.rendered)
        for status in statuses {
            if let problem = status.problem { print("site \(status.site) is behind: \(problem)") }
        }
    }

    /// "0.42/0.97/1.30 s (812)", or "-" when nothing was measured.
    static func describe(_ summary: RecoveryPointSummary?) -> String {
        guard let summary, let p50 = summary.p50Seconds, let p99 = summary.p99Seconds, let max = summary.maxSeconds else { return "-" }
        return String(format: "%.2f/%.2f/%.2f s (%d)", p50, p99, max, summary.count)
    }
}
