import Logging
import SkiffCore
import SkiffSite
import SkiffStorage
import SkiffTestSupport

/// A site inside the test process: the real `SiteService` over memory stores
/// (`MemoryTenantStores`) and a registry in a temporary SQLite file, without HTTP. Tests call
/// its verbs directly with principals made from real tokens, or hand a host's code an
/// `InProcessSiteConnection` to it. Starting one takes a few milliseconds.
///
/// The folder (and the registry in it) is removed when the site goes.
package final class InProcessSite: Sendable {
    package let folder: TemporaryDirectory
    package let registry: SiteRegistry
    package let stores: MemoryTenantStores
    package let service: SiteService

    /// - Parameter makeStore: makes each tenant's store (to give it a clock, a capacity, or
    ///   make it shared).
    package init(makeStore: @escaping @Sendable () -> MemoryStore = { MemoryStore() }) throws {
        folder = try TemporaryDirectory("skiff-site-memory")
        registry = try SiteRegistry(path: folder.appending("site.sqlite").description)
        stores = MemoryTenantStores(makeStore: makeStore)
        service = SiteService(registry: registry, stores: stores, metrics: SiteMetrics(),
                              logger: Logger(label: "skiff-test-site") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Adds the tenant of `key` (as `skiff-site tenant add` does).
    @discardableResult
    package func addTenant(_ key: RestoreKey, name: String = "acme") throws -> TenantRecord {
        try registry.addTenant(name: name, publicKey: key.publicKey)
    }

    /// Registers a host of `tenant` with its certificate (as `skiff-site host add` does).
    package func registerHost(_ hostKey: HostKey, tenant: TenantRecord) throws {
        _ = try registry.registerHost(tenant: tenant, certificate: hostKey.certificate)
    }

    /// The tenant of `maker` with its host registered, ready for the host's uploads.
    package func enroll(_ maker: SnapshotMaker, name: String = "acme") throws -> TenantRecord {
        let tenant = try registry.tenant(maker.tenant.publicKey.tenant) ?? addTenant(maker.tenant, name: name)
        try registerHost(maker.hostKey, tenant: tenant)
        return tenant
    }

    /// A principal as the site's authentication makes it: a token of `role` is created and its
    /// secret authenticated. Writers need `host` (registered first); admins take no tenant.
    package func principal(_ role: SiteRole, tenant: TenantRecord?, host: String? = nil) throws -> Principal {
        let (_, secret) = try registry.createToken(role: role, tenants: tenant.map { [$0.id] } ?? [], host: host, label: "test \(role)")
        guard let principal = try registry.authenticate(secret) else { throw TestFailure("a new \(role) token did not authenticate") }
        return principal
    }

    /// The newest seal of `host` the site accepted, as "#sequence hash" (nil before the first),
    /// to compare with `label(_:)` of the seal expected.
    package func head(of host: String, tenant: TenantRecord) throws -> String? {
        try registry.head(tenant: tenant.id, host: host).map { "#\($0.sequence) \($0.hash.hex)" }
    }

    /// A seal as `head(of:tenant:)` names it.
    package static func label(_ seal: Seal) -> String { "#\(seal.sequence) \(seal.hash.hex)" }

    /// The tenant's store, to look inside it or damage it.
    package func store(_ tenant: TenantRecord) -> MemoryStore { stores.memoryStore(for: tenant.id) }

    /// A connection for the host of `maker` (a writer token for it), as `SiteSender` uses one.
    package func connection(for maker: SnapshotMaker, tenant: TenantRecord, name: String = "site-a") throws -> InProcessSiteConnection {
        InProcessSiteConnection(name: name, service: service, tenant: tenant, principal: try principal(.writer, tenant: tenant, host: maker.host))
    }

    /// Uploads the objects of `snapshot` as a writer (in one bundle, as a sender would).
    package func upload(_ snapshot: SnapshotMaker.Snapshot, tenant: TenantRecord, as principal: Principal) async throws {
        _ = try await service.putObjects(tenant: tenant, objects: snapshot.objects.map { ($0.address, $0.bytes) }, principal: principal)
    }
}
