import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import Synchronization

/// What the scrubber does to a tenant's store through the service: quarantine of damaged
/// objects, and the scrub status auditors see.
extension SiteService {

    /// Moves a damaged object aside, records it, and forgets which subtrees were complete
    /// (so the next seal reaching it is refused until it is healed). The copy is hashed once
    /// more first, so an object repaired since the scrubber read it stays.
    package func quarantine(_ address: ObjectAddress, tenant: TenantRecord, reason: String) async throws {
        let store = try store(tenant.id)
        guard try await !Self.isIntact(address, in: store) else { return }
        let size = try await store.size(.object(address)) ?? 0
        guard try await store.quarantine(.object(address)) else { return }
        quotas.removed(objects: 1, bytes: size, tenant: tenant.id)
        quarantinedAddresses.withLock { _ = $0[tenant.id, default: []].insert(address) }
        try registry.quarantine(address, tenant: tenant.id, reason: reason)
        try registry.forgetCompleteness(tenant: tenant.id)
        try registry.audit(actor: "scrubber", action: "quarantine", tenant: tenant.id, detail: "\(address.hex): \(reason)")
        metrics.quarantined(tenant: tenant.name)
        logger.error("quarantined a damaged object", metadata: ["tenant": "\(tenant.name)", "object": "\(address.hex)", "reason": "\(reason)"])
    }

    /// What auditors see of the scrubber for a tenant.
    package func scrubStatus(tenant: TenantRecord, principal: Principal, bytesPerSecond: Int) throws -> ScrubStatus {
        let pass = try registry.scrubPass(tenant: tenant.id).map {
            ScrubStatus.Pass(started: $0.started, completed: $0.completed, objects: $0.objects, bytes: $0.bytes, quarantined: $0.quarantined)
        }
        return ScrubStatus(bytesPerSecond: bytesPerSecond, pass: pass, quarantined: try registry.quarantined(tenant: tenant.id, limit: 1000))
    }

    /// Loads the quarantined addresses (at start), so that a healed object leaves the list.
    func loadQuarantine() throws {
        var all: [TenantID: Set<ObjectAddress>] = [:]
        for tenant in try registry.tenants() {
            all[tenant.id] = Set(try registry.quarantined(tenant: tenant.id, limit: Int.max).compactMap { ObjectAddress(hex: $0.address) })
        }
        quarantinedAddresses.withLock { $0 = all }
    }
}
