import SkiffCore
import SkiffSystem
import Synchronization

/// A site's stores on its own disks: vouching sets a file's modification time, which renames
/// into and out of the trash keep, so `trashedAge` sees a vouch made before or after the move.
extension FileSystemStore: SiteStore {
    package var isShared: Bool { false }

    package func vouch(_ key: StoreKey) async throws -> Bool { try touch(key) }

    /// Modification times are the vouch records: nothing to forget.
    package func forgetVouches(olderThan cutoff: Int) async throws {}

    package func removeStaleLeftovers() async throws { try removeStaleTemporaryFiles() }
}

/// `<data>/tenants/<tenant id>/`, one `FileSystemStore` each, made on first use.
package final class FolderTenantStores: TenantStores {
    let root: RawPath
    private let stores = Mutex<[TenantID: FileSystemStore]>([:])

    package init(root: RawPath) { self.root = root }

    package func store(for tenant: TenantID) throws -> any SiteStore {
        if let store = stores.withLock({ $0[tenant] }) { return store }
        let store = try FileSystemStore.create(at: root.appending(tenant.hex))
        return stores.withLock { stores in
            if let existing = stores[tenant] { return existing }
            stores[tenant] = store
            return store
        }
    }

    package func shutdown() async {}
}
