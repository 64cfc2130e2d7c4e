import SkiffCore

/// Why the site refused a request: a stable code for clients and an HTTP status.
/// The codes are documented in docs/PROTOCOL.md and never change meaning.
package struct SiteError: Error, Equatable, CustomStringConvertible {
    package var status: Int
    package var code: String
    package var message: String
    /// Addresses involved (for `missing-objects`).
    package var addresses: [String]
    /// For throttling and overload: when to try again (the `Retry-After` header).
    package var retryAfterSeconds: Int?

    package init(_ status: Int, _ code: String, _ message: String, addresses: [String] = [], retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.addresses = addresses
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var description: String { "\(code): \(message)" }

    /// A refusal of the request (4xx, or 507: no room or over quota), as opposed to the site
    /// failing or shutting down. Refusals are counted by code and, for operations that change
    /// state, written to the audit trail.
    package var isRefusal: Bool { (400..<500).contains(status) || status == 507 }

    package static func unauthorized(_ message: String = "a valid bearer token is required") -> SiteError { .init(401, "unauthorized", message) }
    package static func forbidden(_ message: String) -> SiteError { .init(403, "forbidden", message) }
    package static func notFound(_ message: String) -> SiteError { .init(404, "not-found", message) }
    package static func badRequest(_ message: String) -> SiteError { .init(400, "bad-request", message) }
    package static func tooLarge(_ message: String) -> SiteError { .init(413, "too-large", message) }
    package static func addressMismatch(_ expected: ObjectAddress, _ actual: ObjectAddress) -> SiteError {
        .init(422, "address-mismatch", "the body hashes to \(actual), not to \(expected)", addresses: [expected.hex])
    }
    package static func malformedObject(_ message: String) -> SiteError { .init(422, "malformed-object", message) }
    package static func malformedSeal(_ message: String) -> SiteError { .init(400, "malformed-seal", message) }
    package static func wrongTenant(_ message: String) -> SiteError { .init(400, "wrong-tenant", message) }
    package static func wrongHost(_ message: String) -> SiteError { .init(403, "wrong-host", message) }
    package static func unknownSigner(_ message: String) -> SiteError { .init(403, "unknown-signer", message) }
    package static func badSignature(_ message: String) -> SiteError { .init(422, "bad-signature", message) }
    package static func chainConflict(_ message: String) -> SiteError { .init(409, "chain-conflict", message) }
    package static func missingObjects(_ missing: [ObjectAddress]) -> SiteError {
        .init(422, "missing-objects", "\(missing.count) objects the seal reaches are not stored here", addresses: missing.map(\.hex))
    }
    package static func rangeNotSatisfiable(size: Int) -> SiteError {
        .init(416, "range-not-satisfiable", "the range starts at or after the end of the \(size)-byte object")
    }
    package static func quotaExceeded(_ message: String) -> SiteError { .init(507, "quota-exceeded", message) }
    package static func implausibleSeal(_ message: String) -> SiteError { .init(422, "implausible-seal", message) }
    package static func insufficientStorage(_ message: String) -> SiteError { .init(507, "insufficient-storage", message) }
    package static func tooManyFailures(retryAfter: Int) -> SiteError {
        .init(429, "too-many-failures", "too many failed authentications from this address; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
    }
    package static func overloaded(retryAfter: Int) -> SiteError {
        .init(503, "overloaded", "the site has no memory free for more request bodies now; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
    }
    package static func unavailable(_ message: String) -> SiteError { .init(503, "unavailable", message) }
    package static func internalError(_ message: String) -> SiteError { .init(500, "internal", message) }
}
