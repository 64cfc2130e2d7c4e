import SkiffCore
import SkiffSiteClient
import SkiffStorage

/// One place an audit reads: a site (through an auditor's client) or a local repository.
package struct AuditSource: Sendable {
    /// What findings call it (the site's name in the configuration, or the repository path).
    package let name: String
    /// What the audit state remembers it by: the site's URL and the tenant, so that renaming
    /// a site in the configuration does not lose what was verified there.
    package let stateKey: String
    package let repository: Repository
    private let site: SiteClient?

    package init(name: String, stateKey: String, repository: Repository, site: SiteClient?) {
        self.name = name
        self.stateKey = stateKey
        self.repository = repository
        self.site = site
    }

    /// A site read through `client`, named as in the configuration and remembered by its URL
    /// and the client's tenant (`URL#tenant`).
    package init(site client: SiteClient) {
        self.init(name: client.name, stateKey: "\(client.endpoint.url)#\(client.tenant.hex)",
                  repository: Repository(store: client, location: "site \(client.name)"), site: client)
    }

    /// Objects a walk reads at once here. A site gathers reads made together into fetch
    /// requests of up to 256 objects, so many at once fill each request instead of paying a
    /// round trip per few objects: 128 per request the client keeps in flight (256 near, up to
    /// 1,024 as the round trip grows, `SiteClient.fetchWindow`). Each read holds its object
    /// until it is hashed, which happens as it arrives: what is held is about what the cores
    /// have not hashed yet; at most the reads in flight (64 MiB of the bench's 64 KiB mean at
    /// 1,024; 4 GiB if every one were a 4 MiB chunk, the chunker's largest). A local repository
    /// reads in place: a few more than cores.
    func concurrentReads() async -> Int {
        guard let site else { return 8 }
        return 128 * max(2, await site.fetchWindow)
    }

    /// Which of `addresses` the source lacks: one query per 10,000 at a site.
    func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress> {
        guard !addresses.isEmpty else { return [] }
        if let site { return try await site.missing(addresses) }
        var lacking = Set<ObjectAddress>()
        for address in addresses where try await !repository.hasObject(address) { lacking.insert(address) }
        return lacking
    }
}
