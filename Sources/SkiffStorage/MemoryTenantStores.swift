import SkiffCore
import Synchronization

/// Every tenant's store in memory, each made on first use and kept for the life of this object.
package final class MemoryTenantStores: TenantStores {
    private let stores = Mutex<[TenantID: MemoryStore]>([:])
    private let makeStore: @Sendable () -> MemoryStore

    /// - Parameter makeStore: makes a tenant's store on first use (to choose its clock,
    ///   capacity or sharing).
    package init(makeStore: @escaping @Sendable () -> MemoryStore = { MemoryStore() }) {
        self.makeStore = makeStore
    }

    package func store(for tenant: TenantID) throws -> any CollectableStore { memoryStore(for: tenant) }

    /// The tenant's store with its concrete type, for tests that look inside or damage it.
    package func memoryStore(for tenant: TenantID) -> MemoryStore {
        stores.withLock { stores in
            if let store = stores[tenant] { return store }
            let store = makeStore()
            stores[tenant] = store
            return store
        }
    }

    package func tenantIDs() async throws -> [TenantID] {
        stores.withLock { Array($0.keys) }.sorted()
    }

    package func shutdown() async {}
}
