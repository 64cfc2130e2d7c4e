import SkiffCore
import SkiffSiteProtocol

/// Why a request to a site failed.
package enum SiteClientError: Error, Equatable, CustomStringConvertible {
    /// No answer: connection refused or reset, timeout, DNS. Worth retrying.
    case unreachable(site: String, String)
    /// The TLS handshake failed or the certificate is not the one trusted or pinned. Final
    /// until the configuration changes.
    case untrusted(site: String, String)
    /// The site answered with a refusal: its code (nil when the answer was not a protocol
    /// refusal, from a proxy in front of the site, say).
    case rejected(site: String, status: Int, code: SiteErrorCode?, message: String, addresses: [String])
    /// The answer did not follow the protocol.
    case protocolViolation(site: String, String)

    /// Worth trying again later: no answer, or a refusal the code says is passing (the site
    /// failed, is busy, throttles or is full; not a quota, which waits for its administrator).
    package var isTransient: Bool {
        switch self {
        case .unreachable: return true
        case .rejected(_, _, let code?, _, _): return code.isTransient
        case .rejected(_, let status, nil, _, _): return status >= 500 || status == 429 || status == 408
        case .untrusted, .protocolViolation: return false
        }
    }

    package var code: SiteErrorCode? {
        if case .rejected(_, _, let code, _, _) = self { return code }
        return nil
    }

    package var description: String {
        switch self {
        case .unreachable(let site, let why): return "site \(site) unreachable: \(why)"
        case .untrusted(let site, let why): return "site \(site) not trusted: \(why)"
        case .rejected(let site, let status, let code, let message, _): return "site \(site) refused (\(status) \(code?.rawValue ?? "http-\(status)")): \(message)"
        case .protocolViolation(let site, let why): return "site \(site) answered outside the protocol: \(why)"
        }
    }
}

extension SiteConnection {
    /// Loads every object first, then uploads them with `putObjects(_:)`.
    package func putObjects(_ addresses: [ObjectAddress], sizes: [Int], load: @escaping @Sendable (ObjectAddress) async throws -> [UInt8]) async throws -> BundleAcceptance {
        var objects: [(address: ObjectAddress, bytes: [UInt8])] = []
        objects.reserveCapacity(addresses.count)
        for address in addresses { objects.append((address, try await load(address))) }
        return try await putObjects(objects)
    }
}

/// What replication needs from one site.
package protocol SiteConnection: Sendable {
    var name: String { get }
    /// Which of `addresses` the site lacks.
    func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress>
    /// Uploads an object (idempotent).
    func putObject(_ address: ObjectAddress, bytes: [UInt8]) async throws
    /// Uploads several objects in one request (idempotent). Their records, with framing, must
    /// fit in `ObjectBundle.maxBodySize` and number at most `ObjectBundle.maxObjects`.
    func putObjects(_ objects: [(address: ObjectAddress, bytes: [UInt8])]) async throws -> BundleAcceptance
    /// `putObjects` of objects whose bytes `load` gives when the upload reaches them, so a
    /// bundle in flight holds about one object in memory, not all of them. `sizes` are their
    /// lengths (the body's length is declared up front). A `load` that throws fails the upload.
    func putObjects(_ addresses: [ObjectAddress], sizes: [Int], load: @escaping @Sendable (ObjectAddress) async throws -> [UInt8]) async throws -> BundleAcceptance
    /// Uploads a seal. Returns true when newly accepted, false when the site already had it.
    func putSeal(_ seal: Seal) async throws -> Bool
    /// The newest seal of `host` at the site, if any.
    func newestSeal(host: String) async throws -> Seal?
}
