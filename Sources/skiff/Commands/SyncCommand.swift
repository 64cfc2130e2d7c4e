import ArgumentParser
import Foundation
import Logging
import SkiffReplication
import SkiffSystem

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Deliver the host's backlog to every configured site.",
        discussion: "Exit code 0: every site holds everything queued. Exit code 8: some sites are still behind (listed).")

    @OptionGroup var sites: SiteOptions
    @Option(name: .long, help: ArgumentHelp("Host key file (default: the configuration's host_key).", valueName: "FILE"))
    var hostKey: String?
    @Option(name: .long, help: ArgumentHelp("Give up after this many seconds.", valueName: "SECONDS"))
    var timeout: Int = 300

    func run() async throws {
        let configuration = try sites.load()
        let key = try KeyFiles.hostKey(hostKey ?? configuration.hostKey)
        let replicator = try Replicator(
            stateDirectory: RawPath(configuration.stateDirectory), sites: try SiteOptions.endpoints(configuration),
            tenant: key.tenant.tenant, quorum: configuration.quorum, logger: Logger(label: "skiff.sync"))
        let (behind, statuses) = try await withCleanup {
            (try await replicator.drain(timeout: .seconds(timeout)), try await replicator.status(probeTimeout: .milliseconds(500)))
        } cleanup: {
            await replicator.shutdown()
        }
        for status in statuses {
            let state = status.backlogEntries == 0 ? "up to date" : "behind by \(status.backlogEntries) entries"
            print("site \(status.site): \(state)\(status.lastError.map { "; last error: \($0)" } ?? "")")
        }
        if !behind.isEmpty { throw ExitCode(ExitStatus.notDurableYet.rawValue) }
    }
}
