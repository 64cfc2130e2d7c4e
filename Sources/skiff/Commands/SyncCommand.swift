import ArgumentParser
import Foundation
import Logging
import SkiffReplication
import SkiffSystem

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Deliver the host's backlog to every configured site.",
        discussion: """
            Delivers what each site has not acknowledged; then asks each site for its newest seal of this host, and
            delivers again what a site lost after acknowledging it (a site restored from an old copy of its data), with
            the objects it lacks: from this host's outbox, which keeps what it delivered for 24 hours and every seal it
            made. Exit code 0: every site holds this host's newest seal and everything queued. Exit code 8: some sites
            are still behind (listed, with why; a site that lost what this host no longer holds needs `skiff heal`).
            """)

    @OptionGroup var sites: SiteOptions
    @Option(name: .long, help: ArgumentHelp("Host key file (default: the configuration's host_key).", valueName: "FILE"))
    var hostKey: String?
    @Option(name: .long, help: ArgumentHelp("Give up after this many seconds.", valueName: "SECONDS"))
    var timeout: Int = 300

    func run() async throws {
        let configuration = try sites.load()
        let key = try KeyFiles.hostKey(hostKey ?? configuration.hostKey)
        let replicator = try Replicator(
            layout: configuration.stateLayout, sites: try SiteOptions.endpoints(configuration),
            tenant: key.tenant.tenant, quorum: configuration.quorum, logger: Logger(label: "skiff.sync"))
        let (behind, statuses) = try await withCleanup {
            (try await replicator.drain(timeout: .seconds(timeout)), try await replicator.status(probeTimeout: SiteRanking.afterDeliveryProbeTimeout))
        } cleanup: {
            await replicator.shutdown()
        }
        for status in statuses {
            if let reason = behind.first(where: { $0.site == status.site })?.reason {
                print("site \(status.site): behind (\(status.backlogEntries) entries queued): \(reason)")
            } else {
                print("site \(status.site): up to date\(status.siteNewestSeal.map { ", holds \($0)" } ?? "")")
            }
        }
        if !behind.isEmpty { throw ExitCode(ExitStatus.notDurableYet.rawValue) }
    }
}
