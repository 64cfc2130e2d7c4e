import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import Synchronization

/// What a site does, independent of HTTP: verified uploads, deduplication queries, seal
/// acceptance, listing, reading and (for administrators) deletion. Every verb checks the
/// caller's principal first.
package final class SiteService: Sendable {
    package let registry: SiteRegistry
    package let stores: any TenantStores
    package let metrics: SiteMetrics
    /// What each tenant stores and has not sealed, against its quota.
    package let quotas: QuotaLedger
    let logger: Logger
    let sealLocks = KeyedLocks<String>()
    let pendingIdentities = Mutex<[(TenantID, ObjectIdentity, ObjectAddress)]>([])
    /// Quarantined objects by tenant, to release one when a good copy arrives.
    let quarantinedAddresses = Mutex<[TenantID: Set<ObjectAddress>]>([:])

    /// At most this many addresses or identities per deduplication query.
    package static let maxQueryItems = 10_000

    package init(registry: SiteRegistry, stores: any TenantStores, metrics: SiteMetrics, logger: Logger) {
        self.registry = registry
        self.stores = stores
        self.metrics = metrics
        self.logger = logger
        quotas = QuotaLedger(readQuota: { [registry] in try registry.quota(tenant: $0) })
    }

    /// The store of a tenant's objects and seals.
    package func store(_ tenant: TenantID) throws -> any CollectableStore {
        do { return try stores.store(for: tenant) } catch let error as StoreError {
            throw SiteError.internalError("the store of tenant \(tenant.hex) cannot be opened: \(error)")
        }
    }

    /// The tenant, if the principal may act on it. Unknown and foreign tenants are refused
    /// alike, so a token cannot probe which tenants exist. A writer acts only while its host
    /// is registered (a host removed with `skiff-site host remove` keeps no write access).
    package func tenant(_ text: String, for principal: Principal) throws -> TenantRecord {
        guard let id = TenantID(hex: text), principal.covers(id), let record = try registry.tenant(id) else {
            throw SiteError.forbidden("this token has no access to tenant \(text.prefix(64))")
        }
        if principal.role == .writer {
            guard let host = principal.host, try registry.host(tenant: id, name: host) != nil else {
                throw SiteError.forbidden("host \(principal.host ?? "?") of this writer token is not registered at the site")
            }
        }
        return record
    }

    // MARK: Housekeeping

    /// `CollectableStore.settle` of every tenant's store (the server's housekeeping, every second).
    package func settleStores() async throws {
        for tenant in try registry.tenants() { try await store(tenant.id).settle() }
    }

    /// Makes every upload durable (when the server stops).
    package func flushStores() async throws {
        for tenant in try registry.tenants() { try await store(tenant.id).flush() }
    }

    /// Writes buffered identity index rows (also done periodically by the server).
    package func flushIdentities() throws {
        let pending = pendingIdentities.withLock { rows -> [(TenantID, ObjectIdentity, ObjectAddress)] in
            defer { rows = [] }
            return rows
        }
        try registry.recordIdentities(pending)
    }

    /// Brings the seal index and heads in line with the seals in the stores (after a crash
    /// between writing a seal and indexing it, or a registry restored from an old copy),
    /// mirrors the registry's tenant and host records into the stores, and removes stale
    /// temporary files. What the index cannot repair (seal files missing or damaged) is logged:
    /// `skiff-site check` lists it, a heal or the host brings it back.
    package func reconcile() async throws {
        try loadQuarantine()
        for tenant in try registry.tenants() {
            let store = try store(tenant.id)
            try await store.removeStaleLeftovers()
            try await removeRetirementLeftovers(Repository(store: store, location: "site"))
            for finding in try await checkIndex(tenant: tenant, deep: false, repair: true) {
                if finding.repaired {
                    logger.notice("repaired the seal index", metadata: ["finding": "\(finding)"])
                } else {
                    logger.error("the store and the index disagree", metadata: ["finding": "\(finding)"])
                }
            }
            try await mirrorRegistry(tenant: tenant)
        }
    }

    /// A seal left in both folders by an interrupted retirement loses its `seals/` copy (the
    /// index follows in `checkIndex`).
    private func removeRetirementLeftovers(_ repository: Repository) async throws {
        let retained = Set(try await repository.sealNames())
        for name in try await repository.retiredSealNames() where retained.contains(name) {
            try await repository.store.delete(.seal(name))
        }
    }
}
