import Foundation
import Logging
import ServiceLifecycle
import SkiffCore
import SkiffStorage

/// Re-reads every stored object of every tenant in the background, at most `bytesPerSecond`,
/// and quarantines those whose bytes no longer hash to their address (bit rot, a bad disk, a
/// hand that edited a file). A pass resumes where it stopped after a restart; a new pass
/// starts `pause` after the previous one ended. Results: metrics, the audit trail, and
/// `GET …/scrub` for auditors.
struct SiteScrubber: Service {
    let service: SiteService
    let bytesPerSecond: Int
    let pause: Duration
    let logger: Logger
    /// Objects listed per page (the pass's progress is saved after each).
    static let pageSize = 1000

    /// Runs until graceful shutdown (a service that returned would stop the whole server, so
    /// the server adds this one only when the rate is above zero).
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for tenant in try service.registry.tenants() {
                        try await scrub(tenant)
                        try Task.checkCancellation()
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("scrubbing failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: pause)
            }
        }
    }

    /// One pass over a tenant's objects (or the rest of an interrupted one).
    func scrub(_ tenant: TenantRecord) async throws {
        let registry = service.registry
        var pass = try registry.scrubPass(tenant: tenant.id)
        if pass == nil || pass!.completed != nil {
            pass = ScrubPass(started: Date(), completed: nil, objects: 0, bytes: 0, quarantined: 0, resumeAfter: nil)
        }
        guard var pass else { return }
        let store = try service.store(tenant.id)
        let clock = ContinuousClock()
        let started = clock.now
        var budgetBytes = 0
        while true {
            let keys = try await store.list(prefix: StoreKey.objectsPrefix, after: pass.resumeAfter.map { .object($0) }, limit: Self.pageSize)
            var read = 0
            for key in keys {
                guard let address = key.objectAddress else { continue }
                let bytes: [UInt8]
                do { bytes = try await store.get(key) } catch StoreError.notFound { continue }
                let actual = SHA256Hasher.digest(bytes)
                if actual != address.digest {
                    try await service.quarantine(address, tenant: tenant, reason: "its \(bytes.count) bytes hash to \(actual.hex), not to its address")
                    pass.quarantined += 1
                }
                pass.objects += 1
                pass.bytes += bytes.count
                read += bytes.count
                pass.resumeAfter = address
                budgetBytes += bytes.count
                // Stay under the rate: sleep until the bytes read so far are due.
                let due = Duration.seconds(Double(budgetBytes) / Double(bytesPerSecond))
                let elapsed = clock.now - started
                if due > elapsed { try await Task.sleep(for: due - elapsed) }
            }
            service.metrics.scrubbed(tenant: tenant.name, objects: keys.count, bytes: read)
            if keys.count < Self.pageSize { break }
            try registry.recordScrubPass(pass, tenant: tenant.id)
        }
        pass.completed = Date()
        pass.resumeAfter = nil
        try registry.recordScrubPass(pass, tenant: tenant.id)
        service.metrics.scrubPassCompleted(tenant: tenant.name, seconds: pass.completed!.timeIntervalSince(pass.started), at: pass.completed!.timeIntervalSince1970)
        logger.info("scrub pass completed", metadata: ["tenant": "\(tenant.name)", "objects": "\(pass.objects)", "quarantined": "\(pass.quarantined)"])
        // Seals too: every file read back against its name and the index (a seal file lost or
        // damaged is a finding here, and in the audit trail, until a heal brings it back).
        for finding in try await service.checkIndex(tenant: tenant, deep: true, repair: true) {
            try registry.audit(actor: "scrubber", action: finding.repaired ? "index-repaired" : "index-problem", tenant: tenant.id,
                               detail: "\(finding)", code: finding.kind.rawValue)
            if finding.repaired {
                logger.notice("repaired the seal index", metadata: ["finding": "\(finding)"])
            } else {
                logger.error("the store and the index disagree", metadata: ["finding": "\(finding)"])
            }
        }
    }
}
