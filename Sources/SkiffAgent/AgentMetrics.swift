import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import SkiffBackup
import SkiffReplication
import Synchronization

/// The agent's Prometheus metrics, and the plain-HTTP endpoint that serves them
/// (`agent.metrics_listen`, e.g. 127.0.0.1:9464; bind it to loopback or a management network:
/// it reveals paths' change rates, not data).
package final class AgentMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let snapshots: Prometheus.Counter
    private let failures: Prometheus.Counter
    private let changedPaths: Prometheus.Counter
    private let lastSeal: Prometheus.Gauge
    private let lastDuration: Prometheus.Gauge
    private let watches: Prometheus.Gauge
    private let bytesRead: Prometheus.Counter
    private let bytesNew: Prometheus.Counter
    private let bytesDeduplicated: Prometheus.Counter
    private let entriesSkipped: Prometheus.Counter
    private let quorumRecoveryPoints: ValueHistogram
    private let currentRecoveryPoint: Prometheus.Gauge
    /// The recovery-point gauges were last set to zero (nothing waits): an idle tick sets nothing.
    private let wasIdle = Atomic<Bool>(false)
    /// The sealed part of the recovery point as last read from the outbox, and the outbox
    /// revision it was read at: an idle agent reads nothing each second.
    private let sealedNotDurable = Mutex<(revision: Int, quorum: Double?, sites: [String: Double?])?>(nil)
    /// What each site's sender had uploaded at the last `record`, to turn totals into increments.
    private let uploaded = Mutex<[String: (objects: Int, bytes: Int)]>([:])

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        snapshots = registry.makeCounter(descriptor: Self.name("skiff_agent_snapshots_total", "Snapshots sealed into the outbox."))
        failures = registry.makeCounter(descriptor: Self.name("skiff_agent_snapshot_failures_total", "Snapshots that failed (retried at the next change set or rescan)."))
        changedPaths = registry.makeCounter(descriptor: Self.name("skiff_agent_changed_paths_total", "Paths reported changed by inotify and taken into snapshots."))
        lastSeal = registry.makeGauge(descriptor: Self.name("skiff_agent_last_seal_time_seconds", "Unix time of the newest sealed snapshot."))
        lastDuration = registry.makeGauge(descriptor: Self.name("skiff_agent_last_snapshot_duration_seconds", "Seconds the newest snapshot took."))
        watches = registry.makeGauge(descriptor: Self.name("skiff_agent_watched_directories", "Directories under inotify watch."))
        bytesRead = registry.makeCounter(descriptor: Self.name("skiff_agent_read_bytes_total", "Bytes read from changed files."))
        bytesNew = registry.makeCounter(descriptor: Self.name("skiff_agent_new_bytes_total", "Bytes of new objects stored (after compression and encryption)."))
        bytesDeduplicated = registry.makeCounter(descriptor: Self.name("skiff_agent_deduplicated_bytes_total", "Bytes of chunks found already stored."))
        entriesSkipped = registry.makeCounter(descriptor: Self.name("skiff_agent_entries_skipped_total", "Entries that could not be read (each logged)."))
        quorumRecoveryPoints = registry.makeValueHistogram(
            descriptor: Self.name("skiff_agent_quorum_rpo_seconds", "Seconds from a change seen (inotify event read) to a seal answering it durable at the quorum of sites."),
            buckets: Self.recoveryPointBuckets)
        currentRecoveryPoint = registry.makeGauge(descriptor: Self.name(
            "skiff_agent_rpo_current_seconds", "Age of the oldest change seen that is not yet durable at the quorum of sites (0 when none waits)."))
    }

    /// Histogram buckets of recovery points, in seconds: fine below the 1-2 s that departments
    /// sign for, coarse up to an hour (a site down).
    static let recoveryPointBuckets: [Double] = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 1800, 3600]

    /// A seal answering changes became durable at a site (and, with it, maybe at the quorum).
    func durable(_ sample: DurabilitySample, quorum: Int) {
        registry.makeValueHistogram(
            descriptor: Self.name("skiff_agent_rpo_seconds", "Seconds from a change seen (inotify event read) to a seal answering it durable at the site."),
            labels: [("site", sample.site)], buckets: Self.recoveryPointBuckets
        ).record(sample.seconds)
        if sample.sitesDurable == quorum { quorumRecoveryPoints.record(sample.seconds) }
    }

    /// The current recovery point, at the quorum and at each site: the age of the oldest change
    /// not yet durable there, counting `unsealed` (when the oldest change not yet in a sealed
    /// snapshot was seen), which is durable nowhere yet.
    func recordRecoveryPoint(unsealed: Double?, outbox: Outbox, quorum: Int) {
        let now = Date().timeIntervalSince1970
        func age(_ sealed: Double?) -> Double {
            guard let oldest = [sealed, unsealed].compactMap({ $0 }).min() else { return 0 }
            return max(0, now - oldest)
        }
        let revision = outbox.revision.load(ordering: .relaxed)
        var sealed = sealedNotDurable.withLock { $0 }
        if sealed?.revision != revision {
            do {
                sealed = (revision, try outbox.oldestChangeNotDurable(quorum: quorum),
                          try Dictionary(uniqueKeysWithValues: outbox.sites.map { ($0, try outbox.oldestChangeNotDurable(at: $0)) }))
                sealedNotDurable.withLock { $0 = sealed }
            } catch {
                return  // The outbox could not be read this time: the gauges keep their last values.
            }
        }
        guard let sealed else { return }
        let idle = unsealed == nil && sealed.quorum == nil && sealed.sites.values.allSatisfy { $0 == nil }
        guard !idle || !wasIdle.exchange(true, ordering: .relaxed) else { return }  // zeros already set
        if !idle { wasIdle.store(false, ordering: .relaxed) }
        currentRecoveryPoint.set(age(sealed.quorum))
        for (site, oldest) in sealed.sites {
            registry.makeGauge(descriptor: Self.name("skiff_agent_site_rpo_current_seconds", "Age of the oldest change seen that the site does not hold yet (0 when none waits)."),
                               labels: [("site", site)]).set(age(oldest))
        }
    }

    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func sealed(seconds: Double, changedPaths count: Int, statistics: BackupStatistics.Summary, warnings: Int) {
        snapshots.increment()
        bytesRead.increment(by: Int64(statistics.bytesRead))
        bytesNew.increment(by: Int64(statistics.bytesStored))
        bytesDeduplicated.increment(by: Int64(statistics.bytesDeduplicated))
        entriesSkipped.increment(by: Int64(warnings))
        changedPaths.increment(by: Int64(count))
        lastSeal.set(Date().timeIntervalSince1970)
        lastDuration.set(seconds)
    }

    func failed() { failures.increment() }

    func rescan(reason: String) {
        registry.makeCounter(descriptor: Self.name("skiff_agent_rescans_total", "Full rescans, by reason (timer, queue overflow, watch limit)."), labels: [("reason", reason)]).increment()
    }

    func watching(_ count: Int) { watches.set(Double(count)) }

    /// Per-site delivery state from the outbox (no network probe).
    func record(sites: [SiteSender], outbox: Outbox) {
        let now = Date().timeIntervalSince1970
        for sender in sites {
            let name = sender.site.name
            guard let backlog = try? outbox.backlog(of: name) else { continue }
            registry.makeGauge(descriptor: Self.name("skiff_agent_site_backlog_entries", "Outbox entries a site has not acknowledged."), labels: [("site", name)]).set(Double(backlog.entries))
            registry.makeGauge(descriptor: Self.name("skiff_agent_site_backlog_bytes", "Bytes of outbox entries a site has not acknowledged."), labels: [("site", name)]).set(Double(backlog.bytes))
            registry.makeGauge(descriptor: Self.name("skiff_agent_site_lag_seconds", "Age of the oldest entry a site has not acknowledged."), labels: [("site", name)]).set(backlog.oldest.map { max(0, now - $0) } ?? 0)
            let now = (objects: sender.uploadedObjects.load(ordering: .relaxed), bytes: sender.uploadedBytes.load(ordering: .relaxed))
            let before = uploaded.withLock { $0.updateValue(now, forKey: name) } ?? (objects: 0, bytes: 0)
            registry.makeCounter(descriptor: Self.name("skiff_agent_site_uploaded_objects_total", "Objects uploaded to the site."), labels: [("site", name)])
                .increment(by: Int64(max(0, now.objects - before.objects)))
            registry.makeCounter(descriptor: Self.name("skiff_agent_site_uploaded_bytes_total", "Bytes uploaded to the site."), labels: [("site", name)])
                .increment(by: Int64(max(0, now.bytes - before.bytes)))
            registry.makeGauge(descriptor: Self.name("skiff_agent_site_reachable", "1 when the last delivery attempt to the site reached it."), labels: [("site", name)]).set(sender.reachable.load(ordering: .relaxed) ? 1.0 : 0.0)
        }
    }

    var text: [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// Serves `GET /metrics` over plain HTTP until graceful shutdown.
package struct AgentMetricsServer: Service {
    let metrics: AgentMetrics
    let host: String
    let port: Int
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    package init(metrics: AgentMetrics, host: String, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.metrics = metrics
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    package func run() async throws {
        let router = Router()
        let metrics = self.metrics
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.text)))
        }
        // Hummingbird announces its start at info level; `onListening` says where /metrics is.
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "skiff-agent"),
                              onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: serverLogger)
        try await app.runService()
    }
}
