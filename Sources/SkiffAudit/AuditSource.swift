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
    /// requests (up to 256 objects, two in flight), so many at once fill each request instead of
    /// paying a round trip per few objects. Each read holds its object until it is hashed: at
    /// most 256 objects in memory (16 MiB at the bench's 64 KiB mean; 1 GiB if every one were a
    /// 4 MiB chunk, the chunker's largest). A local repository reads in place: a few more than
    /// cores.
    var concurrentReads: Int { site == nil ? 8 : 256 }

    /// Which of `addresses` the source lacks: one query per 10,000 at a site.
    func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress> {
        guard !addresses.isEmpty else { return [] }
        if let site { return try await site.missing(addresses) }
        var lacking = Set<ObjectAddress>()
        for address in addresses where try await !repository.hasObject(address) { lacking.insert(address) }
        return lacking
    }
}
