import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem

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
package struct SiteCollector: Sendable {
    let service: SiteService
    /// Header reads in flight while marking.
    static let parallelReads = 8
    /// Unmarked objects swept together (the store runs each batch in lanes).
    static let sweepBatch = 4096

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

        for key in try await store.trashedObjectKeys() {
            try await store.restoreFromTrash(key)
            report.recovered += 1
        }
        let settings = try registry.retentionSettings(tenant: tenant.id)
        let protectedSeconds = max(settings.policy.graceSeconds, settings.immutability.effective(at: started))
        let cutoff = Int(started.timeIntervalSince1970) - protectedSeconds

        // Roots come from the store (the truth), not the index: a seal written just before a
        // crash may not be indexed yet.
        var marker = Marker(repository: Repository(store: store, location: "site"))
        var markedSeals = Set<String>()
        while true {
            let rootSeals = try await Self.rootSeals(marker.repository, horizonSeconds: settings.policy.reuseHorizonSeconds)
                .filter { markedSeals.insert($0.name.fileName).inserted }
            guard !rootSeals.isEmpty else { break }
            report.roots += rootSeals.count
            // Seals accepted while marking reach what they reach: the loop marks them too.
            try await marker.mark(rootSeals.map(\.root))
        }
        guard marker.unreadable.isEmpty else {
            let sample = marker.unreadable.prefix(5).map(\.hex).joined(separator: ", ")
            throw SiteError(.incompleteDAG, """
                garbage collection stopped, nothing deleted: \(marker.unreadable.count) objects that retained seals reach are missing or \
                damaged (\(sample)…); heal the site first (skiff heal)
                """)
        }
        report.reachable = marker.marked.count

        // Seal checks trust remembered complete subtrees: forget them around deletions (only
        // when there are any: the next seal then walks its whole DAG once).
        var sweeper = Sweeper(store: store, cutoff: cutoff, forgetCompleteness: { try registry.forgetCompleteness(tenant: tenant.id) })
        var unmarked: [StoreKey] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix) {
            report.examined += 1
            guard let address = key.objectAddress, !marker.marked.contains(address) else { continue }
            unmarked.append(key)
            if unmarked.count == Self.sweepBatch {
                try await sweeper.sweep(unmarked, into: &report)
                unmarked.removeAll(keepingCapacity: true)
            }
        }
        try await sweeper.sweep(unmarked, into: &report)
        if sweeper.forgotCompleteness { try registry.forgetCompleteness(tenant: tenant.id) }
        service.quotas.removed(objects: report.deletedObjects, bytes: report.deletedBytes, tenant: tenant.id)
        try await store.forgetVouches(olderThan: cutoff)

        let elapsed = clock.now - began
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try registry.finishCollection(run, report: report)
        try registry.audit(actor: actor, action: "gc", tenant: tenant.id, detail: """
            \(report.deletedObjects) objects (\(report.deletedBytes) bytes) deleted; \(report.reachable) reachable from \(report.roots) seals; \
            \(report.keptYoung) unreachable but younger than \(RetentionPlan.duration(protectedSeconds)); \(report.recovered) recovered from an interrupted run
            """)
        service.metrics.collected(report, at: now().timeIntervalSince1970)
        service.logger.info("garbage collection finished", metadata: [
            "tenant": "\(tenant.name)", "deleted": "\(report.deletedObjects)", "bytes": "\(report.deletedBytes)", "seconds": "\(report.seconds)",
        ])
        return report
    }

    /// Retained seals, and retired seals within `horizonSeconds` of their host's newest seal,
    /// read from the store. A seal that cannot be read stops the collection: its objects
    /// cannot be known.
    static func rootSeals(_ repository: Repository, horizonSeconds: Int) async throws -> [Seal] {
        func read(_ names: [SealName], retired: Bool) async throws -> [Seal] {
            var seals: [Seal] = []
            for name in names {
                do {
                    seals.append(try await repository.seal(named: name, retired: retired))
                } catch StoreError.notFound {
                    continue  // retired or collected meanwhile; the other listing has it
                } catch {
                    throw SiteError.internalError("garbage collection stopped, nothing deleted: seal \(name.short) is unreadable (\(error))")
                }
            }
            return seals
        }
        let retained = try await read(try await repository.sealNames(), retired: false)
        let retired = try await read(try await repository.retiredSealNames(), retired: true)
        let newest = Dictionary((retained + retired).map { ($0.hostName, $0.time.unixNanoseconds) }, uniquingKeysWith: max)
        let horizon = Int64(horizonSeconds) * 1_000_000_000
        return retained + retired.filter { $0.time.unixNanoseconds >= newest[$0.hostName]! - horizon }
    }

    /// The sweep phase, one batch of unmarked objects at a time: their ages, then the old ones
    /// through the trash.
    struct Sweeper {
        let store: any SiteStore
        let cutoff: Int
        let forgetCompleteness: () throws -> Void
        var forgotCompleteness = false

        mutating func sweep(_ unmarked: [StoreKey], into report: inout CollectionReport) async throws {
            var old: [StoreKey] = []
            var sizes: [Int] = []
            for (key, age) in zip(unmarked, try await store.ages(of: unmarked)) {
                guard let (modified, size) = age else { continue }
                guard modified < cutoff else {
                    report.keptYoung += 1
                    continue
                }
                old.append(key)
                sizes.append(size)
            }
            guard !old.isEmpty else { return }
            if !forgotCompleteness {
                try forgetCompleteness()
                forgotCompleteness = true
            }
            for (outcome, size) in zip(try await store.sweep(old, olderThan: cutoff), sizes) {
                switch outcome {
                case .absent: continue
                case .putBack: report.putBack += 1
                case .deleted:
                    report.deletedObjects += 1
                    report.deletedBytes += size
                }
            }
        }
    }

    /// The mark phase: the shared DAG traversal over object headers, each page read in lanes
    /// that each gather their links in one array (a result array per object made the
    /// 1,000,001-object collection twice as slow).
    struct Marker {
        let repository: Repository
        private var traversal = DAGTraversal()
        var unreadable: [ObjectAddress] = []

        init(repository: Repository) { self.repository = repository }

        /// Every address reached so far.
        var marked: Set<ObjectAddress> { traversal.visited }

        mutating func mark(_ roots: [ObjectAddress]) async throws {
            let repository = self.repository
            var unreadable: [ObjectAddress] = []
            try await traversal.walk(from: roots, pageSize: 1 << 16) { page in
                let results = try await withThrowingTaskGroup(of: ([ObjectAddress], [ObjectAddress]).self) { group in
                    for slice in laneSlices(page, lanes: SiteCollector.parallelReads) {
                        group.addTask {
                            var links: [ObjectAddress] = []
                            var unreadable: [ObjectAddress] = []
                            for address in slice {
                                do {
                                    links += try await repository.objectHeader(address).links
                                } catch is ObjectError {
                                    unreadable.append(address)
                                }
                            }
                            return (links, unreadable)
                        }
                    }
                    var all: [([ObjectAddress], [ObjectAddress])] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                unreadable += results.flatMap(\.1)
                return results.flatMap(\.0)
            }
            self.unreadable += unreadable
        }
    }
}
