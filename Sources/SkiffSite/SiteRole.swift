import SkiffCore

/// What a bearer token may do at a site.
package enum SiteRole: String, Codable, Sendable, CaseIterable {
    /// One host of one tenant: put objects, put its own seals, ask what the site lacks, read
    /// its own seals. Never delete, overwrite, or read another host's seals.
    case writer
    /// Restore: get objects and seals of its tenant.
    case reader
    /// List and get, in every tenant it is granted; no writes.
    case auditor
    /// Tenants, tokens, hosts, deletion, retention; every tenant.
    case admin
}

/// Who is calling: the authenticated token's grants.
package struct Principal: Sendable, Equatable {
    package var tokenID: String
    package var role: SiteRole
    /// Tenants the token may act on (every tenant for admins).
    package var tenants: Set<TenantID>
    /// For writers: the one host whose seals they may write and read.
    package var host: String?

    package init(tokenID: String, role: SiteRole, tenants: Set<TenantID>, host: String?) {
        self.tokenID = tokenID
        self.role = role
        self.tenants = tenants
        self.host = host
    }

    package func covers(_ tenant: TenantID) -> Bool { role == .admin || tenants.contains(tenant) }

    /// Whether the seals of `host` may be listed and read.
    package func mayReadSeals(of host: String) -> Bool { role == .writer ? self.host == host : true }
}
