import SkiffCore
import SkiffStorage
import SkiffSiteProtocol

/// Why the site refused a request: a code of the protocol's vocabulary (`SiteErrorCode`, with
/// its HTTP status), a message for people, and what the refusal concerns.
package struct SiteError: Error, Equatable, CustomStringConvertible {
    package var code: SiteErrorCode
    /// The HTTP status: the code's, except for HTTP-level failures mapped to `bad-request` or
    /// `internal` (a 405, say), which keep their own.
    package var status: Int
    package var message: String
    /// Addresses involved (for `missing-objects`).
    package var addresses: [String]
    /// For throttling and overload: when to try again (the `Retry-After` header).
    package var retryAfterSeconds: Int?

    package init(_ code: SiteErrorCode, _ message: String, addresses: [String] = [], retryAfterSeconds: Int? = nil, status: Int? = nil) {
        self.code = code
        self.status = status ?? code.status
        self.message = message
        self.addresses = addresses
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var description: String { "\(code.rawValue): \(message)" }

    /// A refusal of the request (4xx, or 507: no room or over quota), as opposed to the site
    /// failing or shutting down. Refusals are counted by code and, for operations that change
    /// state, written to the audit trail.
    package var isRefusal: Bool { (400..<500).contains(status) || status == 507 }

    package static func unauthorized(_ message: String = "a valid bearer token is required") -> SiteError { .init(.unauthorized, message) }
    package static func forbidden(_ message: String) -> SiteError { .init(.forbidden, message) }
    package static func notFound(_ message: String) -> SiteError { .init(.notFound, message) }
    package static func badRequest(_ message: String) -> SiteError { .init(.badRequest, message) }
    package static func tooLarge(_ message: String) -> SiteError { .init(.tooLarge, message) }
    package static func addressMismatch(_ expected: ObjectAddress, _ actual: ObjectAddress) -> SiteError {
        .init(.addressMismatch, "the body hashes to \(actual), not to \(expected)", addresses: [expected.hex])
    }
    package static func malformedObject(_ message: String) -> SiteError { .init(.malformedObject, message) }
    package static func malformedSeal(_ message: String) -> SiteError { .init(.malformedSeal, message) }
    package static func wrongTenant(_ message: String) -> SiteError { .init(.wrongTenant, message) }
    package static func wrongHost(_ message: String) -> SiteError { .init(.wrongHost, message) }
    package static func unknownSigner(_ message: String) -> SiteError { .init(.unknownSigner, message) }
    package static func badSignature(_ message: String) -> SiteError { .init(.badSignature, message) }
    package static func chainConflict(_ message: String) -> SiteError { .init(.chainConflict, message) }
    package static func missingObjects(_ missing: [ObjectAddress]) -> SiteError {
        .init(.missingObjects, "\(missing.count) objects the seal reaches are not stored here", addresses: missing.map(\.hex))
    }
    package static func rangeNotSatisfiable(size: Int) -> SiteError {
        .init(.rangeNotSatisfiable, "the range starts at or after the end of the \(size)-byte object")
    }
    package static func quotaExceeded(_ message: String) -> SiteError { .init(.quotaExceeded, message) }
    package static func implausibleSeal(_ message: String) -> SiteError { .init(.implausibleSeal, message) }
    package static func insufficientStorage(_ message: String) -> SiteError { .init(.insufficientStorage, message) }
    package static func tooManyFailures(retryAfter: Int) -> SiteError {
        .init(.tooManyFailures, "too many failed authentications from this address; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
    }
    package static func overloaded(retryAfter: Int) -> SiteError {
        .init(.overloaded, "the site has no memory free for more request bodies now; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
    }
    package static func unavailable(_ message: String) -> SiteError { .init(.unavailable, message) }
    package static func internalError(_ message: String) -> SiteError { .init(.internal, message) }

    /// The refusal for a store failure: a full disk or bucket is `insufficient-storage`, a key
    /// the store lacks `not-found`, anything else `internal`. Store errors that handlers do not
    /// catch are mapped here, once (`SiteErrorMiddleware`).
    package init(_ error: StoreError) {
        switch error {
        case .noSpace(let what): self = .insufficientStorage(what)
        case .notFound(let key): self = .notFound("\(key)")
        default: self = .internalError("\(error)")
        }
    }
}
