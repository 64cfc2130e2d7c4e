import SkiffCore
import SkiffStorage
import SkiffSystem
import Synchronization

/// Every tenant's store in one bucket, under `<prefix>/tenants/<tenant id>/`, over one set of
/// connections, opened on first use (commands that never touch a store open none). Objects go
/// into packs (`packs/` under the tenant's prefix, one PUT per pack); the index of each tenant's
/// packs is local, `<indexFolder>/<tenant id>.sqlite`, and rebuilt from the bucket when missing;
/// windows of packs read are kept in `windows`, which the site keeps on its disk.
/// Several site processes may use the same bucket and prefix at once.
package final class S3TenantStores: TenantStores {
    let location: S3Location
    let signer: S3Signer
    let indexFolder: RawPath
    let targetPackSize: Int
    /// Windows of packs read, shared by every tenant's shelf (`PackWindows`).
    let windows: PackWindows
    private let state = Mutex<(root: S3Store?, tenants: [TenantID: PackedStore])>((nil, [:]))

    /// `windows`: where read windows of packs are kept (nil: in memory, `PackWindows.memoryBudget`).
    package init(location: S3Location, signer: S3Signer, indexFolder: RawPath, windows: PackWindows? = nil,
                 targetPackSize: Int = PackedStore.defaultTargetPackSize) {
        self.location = location
        self.signer = signer
        self.indexFolder = indexFolder
        self.windows = windows ?? PackWindows()
        self.targetPackSize = targetPackSize
    }

    private func root() throws -> S3Store {
        try state.withLock { state in
            if let root = state.root { return root }
            let root = try S3Store(location: location, signer: signer)
            state.root = root
            return root
        }
    }

    package func store(for tenant: TenantID) throws -> any CollectableStore {
        let root = try root()
        return try state.withLock { state in
            if let existing = state.tenants[tenant] { return existing }
            let scoped = root.scoped(to: "tenants/\(tenant.hex)")
            let store = try PackedStore(inner: scoped, shelf: StorePackShelf(store: scoped, windows: windows, windowPrefix: tenant.hex), indexFile: indexFolder.appending("\(tenant.hex).sqlite"),
                                        targetPackSize: targetPackSize)
            state.tenants[tenant] = store
            return store
        }
    }

    package func tenantIDs() async throws -> [TenantID] {
        try await root().folders(under: "tenants/").compactMap { TenantID(hex: $0) }
    }

    /// Creates the bucket; one that exists and is ours is fine.
    package func createBucket() async throws {
        try await root().createBucket()
    }

    /// Checks that the bucket answers with these credentials (a listing of at most one key).
    package func check() async throws {
        _ = try await root().list(prefix: "tenants/", after: nil, limit: 1)
    }

    package func shutdown() async {
        windows.discard()
        guard let root = state.withLock({ state -> S3Store? in
            defer { state = (nil, [:]) }
            return state.root
        }) else { return }
        try? await root.shutdown()
    }
}
