import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage

/// Keyless garbage collection of one tenant's objects (docs/FORMAT.md §10, rules G1–G5).
///
/// 1. Puts back whatever an interrupted collection left in the trash.
/// 2. Marks every object reachable, through the clear links of object headers, from the roots
///    (listed from the store, not the index): every retained seal, and every retired seal taken
///    within the reuse horizon of its host's newest seal. Seals accepted while it marks are
///    marked too, until none arrive.
/// 3. Sweeps: an unmarked object older than both the grace period and the immutability window
///    is moved to the trash, its age read again (a host may have been told "present" in between:
///    that refreshes the age) and then deleted, or put back. Unmarked objects go to the store in
///    batches, which it works through in parallel lanes (deleting files one at a time waits on
///    the disk for most of the time).
///
/// No lock is held against uploads or seals: what arrives during a run is either new (younger
/// than the grace period) or reachable from a root. Memory is one set of reachable addresses
/// (32 bytes each), one page of the object listing and one sweep batch. Safe to kill at any
/// point, and to run again: a later run finishes the work.
///
/// When any object reachable from a root is missing or unreadable, nothing is deleted: its
/// children cannot be known, so deleting could destroy what a heal would need.
///
/// The procedure is `KeylessCollector`'s (shared with `skiff prune` of local repositories);
/// this type adds the site's policy (grace, immutability window, horizon), its registry, quotas,
/// audit trail and metrics.
package struct SiteCollector: Sendable {
    let service: SiteService

    package init(service: SiteService) { self.service = service }

    package func collect(tenant: TenantRecord, actor: String, now: @Sendable () -> Date = { Date() }) async throws -> CollectionReport {
        let clock = ContinuousClock()
        let began = clock.now
        let started = now()
        let registry = service.registry
        let store = try service.store(tenant.id)
        var report = CollectionReport(tenant: tenant.name, started: started)
        let run = try registry.beginCollection(tenant: tenant.id, actor: actor, started: started)
        service.logger.info("garbage collection started", metadata: ["tenant": "\(tenant.name)", "actor": "\(actor)"])

        let settings = try registry.retentionSettings(tenant: tenant.id)
        let protectedSeconds = max(settings.policy.graceSeconds, settings.immutability.effective(at: started))
        let rules = KeylessCollector.Rules(
            cutoff: Int(started.timeIntervalSince1970) - protectedSeconds, reuseHorizonSeconds: settings.policy.reuseHorizonSeconds)
        // Seal checks trust remembered complete subtrees: forget them around deletions (only
        // when there are any: the next seal then walks its whole DAG once).
        let collector = KeylessCollector(store: store, rules: rules) { try registry.forgetCompleteness(tenant: tenant.id) }
        let counts: CollectionCounts
        do {
            counts = try await collector.collect()
        } catch let error as CollectionError {
            throw Self.siteError(error)
        }
        report.counts = counts
        service.quotas.removed(objects: report.deletedObjects, bytes: report.deletedBytes, tenant: tenant.id)

        let elapsed = clock.now - began
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try registry.finishCollection(run, report: report)
        try registry.audit(actor: actor, action: "gc", tenant: tenant.id, detail: """
            \(report.deletedObjects) objects (\(report.deletedBytes) bytes) deleted; \(report.reachable) reachable from \(report.roots) seals; \
            \(report.keptYoung) unreachable but younger than \(TimeFormat.duration(protectedSeconds)); \(report.recovered) recovered from an interrupted run; \
            \(report.counts.compaction.summary)
            """)
        service.metrics.collected(report, at: now().timeIntervalSince1970)
        service.logger.info("garbage collection finished", metadata: [
            "tenant": "\(tenant.name)", "deleted": "\(report.deletedObjects)", "bytes": "\(report.deletedBytes)", "seconds": "\(report.seconds)",
            "reclaimed": "\(report.counts.compaction.bytesReclaimed)", "garbage_left": "\(report.counts.compaction.garbageLeft)",
        ])
        return report
    }

    /// The site's words for a collection that stopped before deleting anything.
    static func siteError(_ error: CollectionError) -> SiteError {
        switch error {
        case .unreadableSeal(let name, let reason):
            return SiteError.internalError("garbage collection stopped, nothing deleted: seal \(name.short) is unreadable (\(reason))")
        case .incompleteDAG(let unreadable):
            return SiteError(.incompleteDAG, """
                garbage collection stopped, nothing deleted: \(unreadable.count) objects that retained seals reach are missing or \
                damaged (\(error.sample)…); heal the site first (skiff heal)
                """)
        }
    }
}
