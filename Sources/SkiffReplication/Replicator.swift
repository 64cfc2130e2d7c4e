import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteClient
import SkiffSystem

/// What `skiff status` shows for one site.
package struct SiteStatus: Sendable, Codable, Equatable {
    package var site: String
    package var url: String
    package var reachable: Bool
    package var lastSeal: String?
    /// Seal time of the newest seal the site accepted (ISO 8601).
    package var lastSealTime: String?
    /// Seconds since the oldest entry the site has not acknowledged was queued (0 when caught up).
    package var lagSeconds: Double
    package var backlogEntries: Int
    package var backlogBytes: Int
    package var lastError: String?
    /// The newest seal of this host the site holds now, when it could be asked.
    package var siteNewestSeal: String?
    /// Why the site is behind although it acknowledged everything (it lost seals), if it is.
    package var problem: String?
    /// Age in seconds of the oldest sealed change the site does not hold yet (0 when none).
    package var rpoSeconds: Double = 0
    /// Recovery points at this site over the last 24 hours.
    package var rpoLastDay: RecoveryPointSummary?
}

/// One host's replication: the outbox and one sender per site.
package final class Replicator: Sendable {
    package let outbox: Outbox
    package let sites: [ReconnectingSite]
    package let senders: [SiteSender]
    package let quorum: Int
    let logger: Logger

    /// Opens (or creates) the outbox of `tenant` in the host's state folder (`layout`).
    package init(layout: HostStateLayout, sites: [SiteEndpoint], tenant: TenantID, quorum: Int, logger: Logger) throws {
        let outbox = try Outbox(folder: RawPath(layout.outbox(tenant: tenant)), sites: sites.map(\.name))
        let connections = sites.map { ReconnectingSite(endpoint: $0, tenant: tenant) }
        self.outbox = outbox
        self.sites = connections
        senders = connections.map { SiteSender(site: $0, outbox: outbox, logger: logger) }
        self.quorum = quorum
        self.logger = logger
    }

    /// A destination for `SnapshotWriter` that writes once to the outbox.
    package var destination: ReplicatingDestination {
        ReplicatingDestination(outbox: outbox, sites: sites)
    }

    /// Waits until `quorum` sites accepted everything queued so far (the newest seal among it),
    /// or `timeout` passes. Returns the sites that did. Delivery must be running (`run()`).
    package func waitForQuorum(timeout: Duration) async throws -> [String] {
        try await outbox.waitForAcknowledgements(of: try outbox.newestSequence(), count: quorum, timeout: timeout)
    }

    /// Delivers to every site until cancelled, removing delivered entries as it goes.
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            for sender in senders { group.addTask { await sender.run() } }
            group.addTask {
                while !Task.isCancelled {
                    try? await self.outbox.collectGarbage()
                    try? await Task.sleep(for: .seconds(2))
                }
            }
            await group.waitForAll()
        }
    }

    /// Runs delivery until every site has everything queued now, or `timeout` passes; then
    /// brings every site that lost seals it had acknowledged back up to this host's newest
    /// seal (`SiteSender.redeliver`). Returns the sites still behind, with why.
    package func drain(timeout: Duration) async throws -> [(site: String, reason: String)] {
        let target = try outbox.newestSequence()
        let delivery = Task { await self.run() }
        defer { delivery.cancel() }
        _ = try await outbox.waitForAcknowledgements(of: target, count: sites.count, timeout: timeout)
        delivery.cancel()
        await delivery.value
        try await outbox.collectGarbage()
        var behind: [(site: String, reason: String)] = []
        for sender in senders {
            let name = sender.site.name
            guard try outbox.cursor(name).deliveredThrough >= target else {
                behind.append((name, try outbox.cursor(name).lastError ?? "not all delivered in time"))
                continue
            }
            guard let last = try outbox.lastSeal() else { continue }
            do {
                if try await sender.redeliver(host: last.hostName, through: last.sequence) == nil {
                    behind.append((name, "the site's newest seal of \(last.hostName) is not one of this host's (a fork): audit it"))
                }
            } catch {
                try? await outbox.recordError(site: name, "\(error)")
                behind.append((name, "\(error)"))
            }
        }
        return behind
    }

    /// Waits up to `timeout` for every site to acknowledge everything queued now, with
    /// delivery already running in `delivery`; then stops `delivery`. Returns the sites still
    /// behind (their entries stay in the outbox for the next start).
    package func finish(delivery: Task<Void, Never>, timeout: Duration) async throws -> [String] {
        let target = try outbox.newestSequence()
        _ = try? await outbox.waitForAcknowledgements(of: target, count: sites.count, timeout: timeout)
        delivery.cancel()
        await delivery.value
        try await outbox.collectGarbage()
        return try sites.map(\.name).filter { try outbox.cursor($0).deliveredThrough < target }
    }

    /// The period `status` summarises recovery points over: a day.
    static let recoveryPointPeriod: Double = 24 * 3600

    /// Seconds from `since` (Unix seconds) to `now`, never negative; 0 when there is no `since`.
    private static func age(_ since: Double?, now: Double) -> Double {
        since.map { max(0, now - $0) } ?? 0
    }

    /// Per-site state; probes each site's health endpoint (`SiteRanking.answers`, up to
    /// `probeTimeout`).
    package func status(probeTimeout: Duration = SiteRanking.statusProbeTimeout) async throws -> [SiteStatus] {
        try await replicationStatus(probeTimeout: probeTimeout).sites
    }

    /// `status`, and the recovery point at the quorum: now, and over the last 24 hours (the
    /// day's samples read once for both).
    package func replicationStatus(probeTimeout: Duration = SiteRanking.statusProbeTimeout) async throws -> ReplicationStatus {
        var result: [SiteStatus] = []
        let now = Date().timeIntervalSince1970
        let lastDay = try outbox.recoveryPoints(since: now - Self.recoveryPointPeriod, quorum: quorum)
        for site in sites {
            let cursor = try outbox.cursor(site.name)
            let backlog = try outbox.backlog(of: site.name)
            let reachable = await SiteRanking.answers(site, within: probeTimeout)
            var status = SiteStatus(
                site: site.name, url: site.endpoint.url, reachable: reachable,
                lastSeal: cursor.lastSealSequence.map { "#\($0) \(cursor.lastSealHash?.prefix(12) ?? "")" },
                lastSealTime: cursor.lastSealTime.map { TimeFormat.iso8601(Timestamp(unixNanoseconds: Int64($0 * 1e9))) },
                lagSeconds: Self.age(backlog.oldest, now: now), backlogEntries: backlog.entries, backlogBytes: backlog.bytes,
                lastError: cursor.lastError,
                rpoSeconds: Self.age(try outbox.oldestChangeNotDurable(at: site.name), now: now), rpoLastDay: lastDay.sites[site.name])
            if reachable, let acknowledged = cursor.lastSealSequence, let host = try outbox.lastSeal()?.hostName {
                try await checkHead(of: site, host: host, acknowledged: acknowledged, into: &status, now: now)
            }
            result.append(status)
        }
        return ReplicationStatus(sites: result, quorum: QuorumStatus(
            quorum: quorum, rpoSeconds: Self.age(try outbox.oldestChangeNotDurable(quorum: quorum), now: now), rpoLastDay: lastDay.quorum))
    }

    /// Asks the site for its newest seal of `host` and, when it is older than the one it
    /// acknowledged, says so: the site lost seals (it was restored from an old copy), and the
    /// lag runs from the oldest seal it lost.
    private func checkHead(of site: ReconnectingSite, host: String, acknowledged: UInt64, into status: inout SiteStatus, now: Double) async throws {
        guard let held = try? await site.client().newestSeal(host: host) else {
            status.siteNewestSeal = nil
            return
        }
        status.siteNewestSeal = "#\(held.sequence) \(held.hash.hex.prefix(12))"
        guard held.sequence < acknowledged else { return }
        status.problem = """
            the site holds #\(held.sequence) but had accepted #\(acknowledged): it lost \(acknowledged - held.sequence) seals \
            (restored from an old copy?); `skiff sync` delivers them again
            """
        if let oldestLost = try outbox.seals((held.sequence + 1)...(held.sequence + 1)).first {
            status.lagSeconds = max(status.lagSeconds, now - Double(oldestLost.time.seconds))
        }
    }

    package func shutdown() async {
        for site in sites { await site.shutdown() }
    }
}
