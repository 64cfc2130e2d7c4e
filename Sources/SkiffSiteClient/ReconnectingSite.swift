import SkiffCore
import SkiffSiteProtocol

/// A `SiteConnection` that connects on first use and again after a failure to connect, so a
/// host can start while a site is down (a pinned certificate can only be checked once the
/// site answers).
package final class ReconnectingSite: SiteConnection {
    private actor Connector {
        let endpoint: SiteEndpoint
        let tenant: TenantID
        var client: SiteClient?

        init(endpoint: SiteEndpoint, tenant: TenantID) {
            self.endpoint = endpoint
            self.tenant = tenant
        }

        func connected() async throws -> SiteClient {
            if let client { return client }
            let client = try await SiteClient.connect(endpoint, tenant: tenant)
            self.client = client
            return client
        }

        func shutdown() async {
            try? await client?.shutdown()
            client = nil
        }
    }

    package let endpoint: SiteEndpoint
    private let connector: Connector

    package init(endpoint: SiteEndpoint, tenant: TenantID) {
        self.endpoint = endpoint
        connector = Connector(endpoint: endpoint, tenant: tenant)
    }

    package var name: String { endpoint.name }

    /// The connected client (connecting now if needed).
    package func client() async throws -> SiteClient { try await connector.connected() }

    package func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress> { try await client().missing(addresses) }
    package func putObject(_ address: ObjectAddress, bytes: [UInt8]) async throws { try await client().putObject(address, bytes: bytes) }
    package func putObjects(_ objects: [(address: ObjectAddress, bytes: [UInt8])]) async throws -> BundleAcceptance {
        try await client().putObjects(objects)
    }
    package func putObjects(_ addresses: [ObjectAddress], sizes: [Int], load: @escaping @Sendable (ObjectAddress) async throws -> [UInt8]) async throws -> BundleAcceptance {
        try await client().putObjects(addresses, sizes: sizes, load: load)
    }
    package func putSeal(_ seal: Seal) async throws -> Bool { try await client().putSeal(seal) }
    package func newestSeal(host: String) async throws -> Seal? { try await client().newestSeal(host: host) }

    package func shutdown() async { await connector.shutdown() }
}
