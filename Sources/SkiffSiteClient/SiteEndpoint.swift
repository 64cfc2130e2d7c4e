import Foundation
import SkiffCore

/// How a host trusts a site's TLS certificate.
package enum SiteTrust: Sendable, Equatable {
    /// Certificates signed by the CAs in this PEM file, for the site's host name.
    case certificateAuthority(file: String)
    /// Exactly the certificate with this SHA-256 fingerprint (hex, of its DER encoding),
    /// whatever its name: for self-signed site certificates.
    case pinned(fingerprint: String)
    /// The system's trust store.
    case system
}

/// Where a site is and how to talk to it.
package struct SiteEndpoint: Sendable, Equatable {
    package var name: String
    /// "https://site-a.example:8443", without a path.
    package var url: String
    package var token: String
    package var trust: SiteTrust

    package init(name: String, url: String, token: String, trust: SiteTrust) {
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.token = token
        self.trust = trust
    }

    /// Host and port of the URL.
    package var hostAndPort: (String, Int)? {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host else { return nil }
        return (host, components.port ?? 443)
    }
}
