import SkiffCore
import SkiffSystem
import Synchronization

/// A site's stores on its own disks: vouching sets a file's modification time, which renames
/// into and out of the trash keep, so `trashedAge` sees a vouch made before or after the move.
extension FileSystemStore: CollectableStore {
    package var isShared: Bool { false }

    package func vouch(_ key: StoreKey) async throws -> Bool { try touch(key) }

    /// Modification times are the vouch records: nothing to forget.
    package func forgetVouches(olderThan cutoff: Int) async throws {}

    package func removeStaleLeftovers() async throws { try removeStaleTemporaryFiles() }

    /// Reads the file straight into the caller's buffer, on a blocking thread (`get` of a whole
    /// value is this read into an array).
    package func read<Buffer: Sendable>(_ key: StoreKey, into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        try await reading(key, onBlockingThread: true) { fd in
            let count = try FileIO.size(fd, limit: Self.valueLimit, path: key.path)
            return try make(count) { room in
                try FileIO.preadFull(fd, into: UnsafeMutableRawBufferPointer(rebasing: room[..<count]), at: 0, path: key.path)
            }
        }
    }
}

/// `<data>/tenants/<tenant id>/`, one `PackedStore` in a folder each, made on first use.
package final class FolderTenantStores: TenantStores {
    let root: RawPath
    let targetPackSize: Int
    private let stores = Mutex<[TenantID: PackedStore]>([:])

    package init(root: RawPath, targetPackSize: Int = PackedStore.defaultTargetPackSize) {
        self.root = root
        self.targetPackSize = targetPackSize
    }

    package func tenantIDs() async throws -> [TenantID] {
        do {
            return try FileIO.directoryEntries(root).compactMap { TenantID(hex: String(decoding: $0, as: UTF8.self)) }
        } catch let error as SystemError where error.isNotFound {
            return []
        }
    }

    package func store(for tenant: TenantID) throws -> any CollectableStore {
        if let store = stores.withLock({ $0[tenant] }) { return store }
        let store = try PackedStore(folder: try FileSystemStore.create(at: root.appending(tenant.hex)), targetPackSize: targetPackSize)
        return stores.withLock { stores in
            if let existing = stores[tenant] { return existing }
            stores[tenant] = store
            return store
        }
    }

    package func shutdown() async {}
}
