import SkiffCore
import SkiffStorage

/// Counting what tenants store, for their quotas (`QuotaLedger`).
extension SiteService {
    /// Objects whose sizes are read at once while counting.
    static let countBatch = 1000

    /// Counts every tenant's stored objects once (at start, beside serving) and hands the
    /// totals to the ledger. A tenant whose store cannot be counted is logged and left at what
    /// its uploads add.
    func countStores() async {
        do {
            for tenant in try registry.tenants() {
                do {
                    let store = try store(tenant.id)
                    var objects = 0
                    var bytes = 0
                    var batch: [StoreKey] = []
                    func countBatch() async throws {
                        for age in try await store.ages(of: batch) {
                            guard let age else { continue }
                            objects += 1
                            bytes += age.size
                        }
                        batch.removeAll(keepingCapacity: true)
                    }
                    for try await key in store.keys(prefix: StoreKey.objectsPrefix) {
                        batch.append(key)
                        if batch.count == Self.countBatch { try await countBatch() }
                    }
                    try await countBatch()
                    quotas.counted(objects: objects, bytes: bytes, tenant: tenant.id)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("counting a tenant's store for its quota failed", metadata: ["tenant": "\(tenant.name)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("counting the stores for quotas failed", metadata: ["error": "\(error)"])
        }
    }

    /// Records the usage that changed (for `skiff-site tenant quota`) and exports it.
    func publishUsage() throws {
        let changes = quotas.changes()
        guard !changes.isEmpty else { return }
        try registry.recordUsage(changes.map { ($0.0, $0.1) })
        for (tenant, usage, quota) in changes {
            guard let record = try registry.tenant(tenant) else { continue }
            metrics.usage(tenant: record.name, usage, quota: quota)
        }
        let all = try registry.tenants().map { quotas.usage($0.id) }
        metrics.storedTotal(bytes: all.reduce(0) { $0 + $1.storedBytes }, objects: all.reduce(0) { $0 + $1.storedObjects })
    }
}
