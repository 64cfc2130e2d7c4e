import Foundation
import Logging
import ServiceLifecycle
import SkiffBackup
import SkiffConfig
import SkiffCore
import SkiffReplication
import SkiffGraph
import SkiffStorage
import SkiffSystem
import Synchronization

/// What one agent protects and where it ships, resolved from the configuration.
package struct AgentPlan: Sendable {
    package var settings: AgentSettings
    package var hostKey: HostKey
    package var replicator: Replicator
    package var cache: LocalCache
    package var options: BackupOptions

    package init(settings: AgentSettings, hostKey: HostKey, replicator: Replicator, cache: LocalCache, options: BackupOptions) {
        self.settings = settings
        self.hostKey = hostKey
        self.replicator = replicator
        self.cache = cache
        self.options = options
    }
}

/// The long-running agent: watches the protected paths, turns every change set into a
/// sealed snapshot in the outbox, and delivers the outbox to every site continuously.
///
/// - A snapshot is taken at start, after each change set (on the leading edge: `settle` after
///   the first change of a quiet tree, at most one per `min_interval`), and every
///   `rescan_interval` as a safety net; each re-reads only files whose inode, size, mtime or
///   ctime changed (the file cache), so a pass over an unchanged tree costs one stat per entry.
/// - The recovery point is measured per change set, from the first change seen to each site's
///   and the quorum's acknowledgement of the seal that answers it (`AgentMetrics`).
/// - Graceful shutdown (SIGTERM): stops watching, lets the snapshot in progress finish and
///   seal, gives delivery up to `deliveryGrace` to catch up, and returns. Anything not yet
///   delivered stays in the durable outbox for the next start.
/// - `reload()` (SIGHUP) takes effect at once: a change set follows, in which the watcher is
///   rebuilt for the new paths and every protected path is walked.
package final class Agent: Service, Sendable {
    private let plan: Mutex<AgentPlan>
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let deliveryGrace: Duration
    /// Set by `reload`, taken at the next change set.
    private let pendingPlan = Mutex<AgentPlan?>(nil)
    /// The collector the loop waits on, so that `reload` can start a change set.
    private let activeCollector = Mutex<ChangeCollector?>(nil)
    private let metrics: AgentMetrics
    /// When the oldest change of the snapshot being taken was seen (nil when none runs or it
    /// answers no change): not durable anywhere yet.
    private let changesInFlight = Mutex<Double?>(nil)

    package init(plan: AgentPlan, metrics: AgentMetrics = AgentMetrics(), notifier: SystemdNotifier = SystemdNotifier(), logger: Logger,
                 deliveryGrace: Duration = .seconds(10)) {
        self.plan = Mutex(plan)
        self.metrics = metrics
        self.notifier = notifier
        self.logger = logger
        self.deliveryGrace = deliveryGrace
    }

    /// Uses new settings (paths, excludes, timings) from a change set that it starts (after
    /// its settle time); a change in a newly added path is seen from then on. Keys, sites and the
    /// state folder stay as started: changing those needs a restart.
    package func reload(settings: AgentSettings, options: BackupOptions) {
        pendingPlan.withLock { pending in
            var next = pending ?? plan.withLock { $0 }
            next.settings = settings
            next.options = options
            pending = next
        }
        activeCollector.withLock { $0 }?.requestRescan(reason: "configuration reloaded")
    }

    /// Snapshots changes until graceful shutdown; the sites' connections are shut down however it ends.
    package func run() async throws {
        let replicator = plan.withLock { $0 }.replicator
        try await withCleanup { try await watchAndSnapshot() } cleanup: { await replicator.shutdown() }
    }

    private func watchAndSnapshot() async throws {
        let initial = plan.withLock { $0 }
        let replicator = initial.replicator
        let delivery = Task { await replicator.run() }
        defer { delivery.cancel() }
        let notifier = self.notifier
        let watchdog = notifier.watchdogInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    notifier.notify("WATCHDOG=1")
                    try? await Task.sleep(for: interval)
                }
            }
        }
        let metrics = self.metrics
        replicator.outbox.observeDurability { [quorum = replicator.quorum] sample in metrics.durable(sample, quorum: quorum) }
        let gauges = Task {
            var tick = 0
            while !Task.isCancelled {
                if tick % 5 == 0 { metrics.record(sites: replicator.senders, outbox: replicator.outbox) }
                metrics.recordRecoveryPoint(unsealed: self.oldestUnsealedChange(), outbox: replicator.outbox, quorum: replicator.quorum)
                tick += 1
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer {
            watchdog?.cancel()
            gauges.cancel()
        }
        let collector = ChangeCollector()
        activeCollector.withLock { $0 = collector }
        let watcher = try startWatching(initial, collector: collector)
        do { try await snapshot(initial, reason: "start", changedPaths: 0) } catch {
            // Keep running: delivery of what is queued goes on, and the next change retries.
            logger.error("the first snapshot failed; the next change or rescan tries again", metadata: ["error": "\(error)"])
            collector.requestRescan(reason: "the first snapshot failed")
        }
        notifier.notify("READY=1")
        // Graceful shutdown cancels the loop; a snapshot in progress runs detached and seals,
        // and changes still waiting for their snapshot get a last one.
        let (lastPlan, lastCollector, lastWatcher) = await cancelWhenGracefulShutdown {
            await self.loop(initial, collector: collector, watcher: watcher)
        }
        notifier.notify("STOPPING=1")
        lastWatcher.stop()
        if lastCollector.hasPending {
            do { try await snapshot(lastPlan, reason: "changes pending at shutdown", changedPaths: 0) } catch {
                logger.error("the last snapshot failed; its changes are taken at the next start", metadata: ["error": "\(error)"])
            }
        }
        let behind = (try? await replicator.finish(delivery: delivery, timeout: deliveryGrace)) ?? []
        if !behind.isEmpty { logger.warning("stopping with deliveries pending; they resume at the next start", metadata: ["sites": "\(behind)"]) }
    }

    /// Change set after change set until cancelled (graceful shutdown); returns the plan,
    /// collector and watcher in use then.
    private func loop(_ initial: AgentPlan, collector initialCollector: ChangeCollector, watcher initialWatcher: InotifyWatcher) async
        -> (AgentPlan, ChangeCollector, InotifyWatcher)
    {
        var current = initial
        var collector = initialCollector
        var watcher = initialWatcher
        var lastFailed = false
        while !Task.isCancelled {
            let settings = current.settings
            let changes = collector
            let next = await withTaskGroup(of: ChangeCollector.ChangeSet?.self) { group in
                group.addTask { await changes.next(settle: settings.settle, minInterval: settings.minInterval) }
                if settings.rescanInterval > .zero {
                    group.addTask {
                        try? await Task.sleep(for: settings.rescanInterval)
                        return Task.isCancelled ? nil : ChangeCollector.ChangeSet(paths: [], rescanReason: "periodic safety rescan")
                    }
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let next, !Task.isCancelled else { break }
            var reloaded = false
            if let fresh = pendingPlan.withLock({ $0.take() }) {
                reloaded = true
                notifier.notify("RELOADING=1")
                watcher.stop()
                current = fresh
                plan.withLock { $0 = fresh }
                collector = ChangeCollector()
                let newCollector = collector
                activeCollector.withLock { $0 = newCollector }
                do { watcher = try startWatching(current, collector: collector) } catch {
                    logger.error("cannot watch the new paths; relying on rescans", metadata: ["error": "\(error)"])
                }
                logger.info("configuration reloaded", metadata: ["paths": "\(current.settings.paths)"])
                notifier.notify("READY=1")
            }
            let reason = next.rescanReason ?? "\(next.paths.count) paths changed"
            if let rescan = next.rescanReason { metrics.rescan(reason: rescan) }
            metrics.watching(watcher.watchCount.load(ordering: .relaxed))
            let trusted = next.rescanReason == nil && !reloaded && watcher.isComplete.load(ordering: .relaxed) && !lastFailed
            lastFailed = false
            do {
                try await snapshot(current, reason: reason, changedPaths: next.paths.count, changesSince: next.firstChange,
                                   time: next.takenAt, unchanged: trusted ? Self.unchangedTest(next.paths) : nil)
            } catch {
                lastFailed = true
                metrics.failed()
                logger.error("snapshot failed; the next change or rescan tries again", metadata: ["error": "\(error)"])
                notifier.notify("STATUS=last snapshot failed: \(error)")
                collector.requestRescan(reason: "the previous snapshot failed", since: next.firstChange)
            }
        }
        return (current, collector, watcher)
    }

    private func startWatching(_ plan: AgentPlan, collector: ChangeCollector) throws -> InotifyWatcher {
        let options = plan.options
        let watcher = try InotifyWatcher(collector: collector, logger: logger) { path in
            options.isExcluded(path: path, name: path.lastComponent)
        }
        watcher.start(roots: plan.settings.paths.map { RawPath($0) })
        metrics.watching(watcher.watchCount.load(ordering: .relaxed))
        logger.info("watching", metadata: ["paths": "\(plan.settings.paths)", "directories": "\(watcher.watchCount.load(ordering: .relaxed))"])
        return watcher
    }

    /// One snapshot of every protected path into the outbox, between the pre- and
    /// post-snapshot hooks. Not cancelled by shutdown: a snapshot in progress is finished and
    /// sealed.
    /// - Throws: when the pre-snapshot hook fails (nothing is written) or the backup fails.
    /// `changesSince`: when the oldest change it answers was seen, if it answers changes.
    /// `time`: the seal's time, by default now; a change set's is when it was handed out, so that
    /// every change seen before the seal's time is in it (what restoring "as of" a time relies on).
    private func snapshot(_ plan: AgentPlan, reason: String, changedPaths: Int, changesSince: Double? = nil, time: Timestamp = TimeFormat.now(),
                          unchanged: (@Sendable (RawPath) -> Bool)? = nil) async throws {
        let started = ContinuousClock.now
        changesInFlight.withLock { $0 = changesSince }
        defer { changesInFlight.withLock { $0 = nil } }
        if let hook = plan.settings.preSnapshot { try await Self.runHook(hook, environment: ["SKIFF_REASON": reason]) }
        let logger = self.logger
        let result = try await Task.detached {
            var options = plan.options
            options.unchangedDirectories = unchanged
            var destination = plan.replicator.destination
            destination.changesSince = changesSince
            let writer = try SnapshotWriter(hostKey: plan.hostKey, destination: destination, cache: plan.cache,
                                            options: options, logger: logger)
            return try await writer.backup(paths: plan.settings.paths.map { RawPath($0) }, time: time)
        }.value
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.sealed(seconds: seconds, changedPaths: changedPaths, statistics: result.statistics, warnings: result.warnings.count)
        let s = result.statistics
        logger.info("sealed snapshot", metadata: [
            "seal": "\(result.seal.name.short)", "reason": "\(reason)", "files": "\(s.filesSeen)", "files_read": "\(s.filesRead)",
            "new_objects": "\(s.objectsStored)", "new_bytes": "\(s.bytesStored)", "subtrees_reused": "\(s.subtreesReused)",
            "seconds": "\(seconds)",
        ])
        for warning in result.warnings { logger.warning("entry skipped", metadata: ["warning": "\(warning)"]) }
        notifier.notify("STATUS=sealed #\(result.seal.sequence) (\(reason)); \(s.filesRead) files read, \(s.bytesStored) bytes new")
        if let hook = plan.settings.postSnapshot {
            do {
                try await Self.runHook(hook, environment: ["SKIFF_REASON": reason, "SKIFF_SEAL": result.seal.hash.hex,
                                                           "SKIFF_SEQUENCE": "\(result.seal.sequence)"])
            } catch {
                logger.warning("the post-snapshot hook failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// When the oldest change not yet in a sealed snapshot was seen: waiting in the collector or
    /// in the snapshot being taken.
    private func oldestUnsealedChange() -> Double? {
        let waiting = activeCollector.withLock { $0 }?.oldestPending
        let inFlight = changesInFlight.withLock { $0 }
        return [waiting, inFlight].compactMap { $0 }.min()
    }

    /// "Nothing changed at or below this directory": true unless a changed path is the
    /// directory or lies under it.
    static func unchangedTest(_ changed: Set<RawPath>) -> @Sendable (RawPath) -> Bool {
        var touched = Set<[UInt8]>()
        for path in changed {
            var components = path.components
            while !components.isEmpty {
                guard touched.insert(Array("/".utf8) + Array(components.joined(separator: [UInt8(ascii: "/")]))).inserted else { break }
                components.removeLast()
            }
        }
        let frozen = touched
        return { !frozen.contains($0.bytes) }
    }

    /// Runs `command` with /bin/sh; throws `AgentError.hookFailed` unless it exits 0.
    static func runHook(_ command: String, environment: [String: String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let finished = AsyncStream<Int32> { continuation in
            process.terminationHandler = { continuation.yield($0.terminationStatus); continuation.finish() }
        }
        try process.run()
        var status: Int32 = -1
        for await code in finished { status = code }
        guard status == 0 else { throw AgentError.hookFailed(command: command, status: status) }
    }
}

package enum AgentError: Error, CustomStringConvertible {
    case hookFailed(command: String, status: Int32)

    package var description: String {
        switch self {
        case .hookFailed(let command, let status): return "hook `\(command)` exited with \(status)"
        }
    }
}
