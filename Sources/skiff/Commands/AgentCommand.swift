import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SkiffAgent
import SkiffBackup
import SkiffConfig
import SkiffCore
import SkiffReplication
import SkiffSystem
import UnixSignals

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run unattended: watch the configured paths and ship every change, as a sealed snapshot, to every site within seconds.",
        discussion: """
            Reads the `agent:` section of the host configuration (paths, exclude, exclude_caches, one_file_system,
            settle_ms, min_interval_ms, rescan_interval, nice, io_class, metrics_listen, pre_snapshot, post_snapshot) and its sites. Under systemd (Type=notify) it reports
            READY, STATUS and WATCHDOG. SIGTERM: the snapshot in progress is sealed, delivery gets up to 10 s, then it
            exits 0 (what is left stays in the outbox). SIGHUP: re-reads the agent section (sites and keys need a restart).
            --check-config validates the file and exits: 0 when usable, 2 with the file, line and key of the first problem.
            """)

    @OptionGroup var sites: SiteOptions
    @Flag(name: .long, help: "Check the configuration and exit.")
    var checkConfig = false

    func run() async throws {
        let configuration = try sites.load()
        guard let settings = configuration.agent else {
            throw CommandFailure(.usage, "\(configuration.file): no agent: section (paths to protect, at least)")
        }
        guard !configuration.sites.isEmpty else { throw CommandFailure(.usage, "\(configuration.file): no sites to ship to") }
        for path in settings.paths where !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(.usage, "\(configuration.file): agent.paths: \(path) does not exist")
        }
        let key = try KeyFiles.hostKey(configuration.hostKey)
        let endpoints = try SiteOptions.endpoints(configuration)
        if checkConfig {
            print("\(configuration.file): usable: host \(key.hostName), \(settings.paths.count) paths, \(endpoints.count) sites (quorum \(configuration.quorum))")
            return
        }
        var agentLogger = Logger(label: "skiff.agent")
        if ProcessInfo.processInfo.environment["SKIFF_LOG_LEVEL"] == nil { agentLogger.logLevel = .info }
        let logger = agentLogger
        // Every thread's, not only this one's: nice and I/O priorities belong to threads.
        do {
            try ThreadPriority.lowerEveryThread(nice: settings.nice, ioClass: IOPriorityClass(name: settings.ioClass) ?? .bestEffort)
        } catch {
            logger.warning("cannot lower the CPU and I/O priority (nice, io_class)", metadata: ["errno": "\(error.errno)"])
        }
        let layout = configuration.stateLayout
        let replicator = try Replicator(layout: layout, sites: endpoints, tenant: key.tenant.tenant, quorum: configuration.quorum, logger: logger)
        let cache = try CacheOptions(cacheDir: layout.cacheFolder.path).open(tenant: key.tenant.tenant, host: key.hostName)
        let plan = AgentPlan(settings: settings, hostKey: key, replicator: replicator, cache: cache, options: try Self.options(settings, layout: layout))
        let metrics = AgentMetrics()
        let agent = Agent(plan: plan, metrics: metrics, logger: logger)
        var services: [any Service] = [agent]
        if let address = settings.metricsAddress {
            services.append(AgentMetricsServer(metrics: metrics, host: address.host, port: address.port, logger: logger) { port in
                logger.info("metrics on http://\(address.host):\(port)/metrics")
            })
        }
        let reloads = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    let fresh = try HostConfiguration.load(path: configuration.file)
                    guard let settings = fresh.agent else { throw CommandFailure(.usage, "the agent: section is gone") }
                    agent.reload(settings: settings, options: try Self.options(settings, layout: layout))
                    logger.info("configuration re-read; a snapshot with it follows")
                } catch {
                    logger.error("reload refused; keeping the running configuration", metadata: ["error": "\(error)"])
                }
            }
        }
        defer { reloads.cancel() }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The agent's snapshots leave out the host's own folders and copy databases into its state folder.
    static func options(_ settings: AgentSettings, layout: HostStateLayout) throws -> BackupOptions {
        try BackupOptions(excludes: settings.excludes, excludeCaches: settings.excludeCaches, oneFileSystem: settings.oneFileSystem,
                          excluding: layout.ownFolders(cache: layout.cacheFolder).map { RawPath($0) },
                          databaseCaptureFolder: RawPath(layout.databaseCopies))
    }
}
