import Logging
import SkiffSite
import SkiffSystem

/// A `SiteService` on a data folder, for commands that work on the stores directly.
enum SiteCommandService {
    static func open(_ data: DataOptions, creatingRegistry: Bool = false) throws -> SiteService {
        let registry = creatingRegistry ? try data.registryCreatingIfMissing() : try data.registry()
        var logger = Logger(label: "skiff.site")
        logger.logLevel = .warning  // the command prints its own outcome
        return SiteService(registry: registry, stores: try data.tenantStores(), metrics: SiteMetrics(), logger: logger)
    }

    /// The tenant named, or every tenant.
    static func tenants(_ name: String?, in registry: SiteRegistry) throws -> [TenantRecord] {
        guard let name else { return try registry.tenants() }
        guard let record = try registry.tenant(named: name) else { throw SiteCommandFailure.usage("no tenant \(name)") }
        return [record]
    }

    /// Mirrors the tenant's registry records into its store (`SiteService.mirrorRegistry`), then
    /// closes the store's connections.
    static func mirror(_ tenant: TenantRecord, with service: SiteService) async throws {
        try await withCleanup {
            try await service.mirrorRegistry(tenant: tenant)
        } cleanup: {
            await service.stores.shutdown()
        }
    }
}
