import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol
import Synchronization

/// A tenant known to the site.
package struct TenantRecord: Sendable, Equatable {
    package var id: TenantID
    package var name: String
    package var publicKey: TenantPublicKey
    package var created: Date
}

/// A host whose seals the site accepts: its certificate, verified against the tenant key.
package struct HostRecord: Sendable, Equatable {
    package var tenant: TenantID
    package var name: String
    package var certificate: HostCertificate
    package var registered: Date
}

/// A bearer token as stored: only the SHA-256 of its secret.
package struct TokenRecord: Sendable, Equatable, Codable {
    package var id: String
    package var role: SiteRole
    package var tenants: [String]
    package var host: String?
    package var label: String
    package var created: Date
    package var revoked: Date?
}

/// The newest accepted seal of one host, which the next one must chain to.
package struct SealHead: Sendable, Equatable {
    package var sequence: UInt64
    package var hash: Digest256
}
