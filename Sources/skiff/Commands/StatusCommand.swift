import ArgumentParser
import Foundation
import Logging
import SkiffReplication
import SkiffSystem

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each configured site: reachable, last accepted seal, lag, backlog.")

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
        let statuses = try await withCleanup { try await replicator.status() } cleanup: { await replicator.shutdown() }
        if output.json {
            try JSONOutput.print(statuses)
            return
        }
        var table = TextTable(header: ["Site", "Reachable", "Last seal", "Site holds", "Seal time", "Lag", "Backlog", "Last error"])
        for status in statuses {
            table.rows.append([
                status.site, status.reachable ? "yes" : "no", status.lastSeal ?? "-", status.siteNewestSeal ?? "-", status.lastSealTime ?? "-",
                String(format: "%.1f s", status.lagSeconds), "\(status.backlogEntries) (\(Units.bytes(status.backlogBytes)))",
                status.lastError.map { String($0.prefix(60)) } ?? "-",
            ])
        }
        print(table.rendered)
        for status in statuses {
            if let problem = status.problem { print("site \(status.site) is behind: \(problem)") }
        }
    }
}
