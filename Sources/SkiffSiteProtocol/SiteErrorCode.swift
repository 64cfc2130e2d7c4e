/// Every refusal code of the site protocol (docs/PROTOCOL.md, "Errors"), with the HTTP status
/// it travels with: one vocabulary for the server that refuses, the client that reads the
/// refusal, the audit trail and the metrics. A code never changes meaning; new ones are added.
package enum SiteErrorCode: String, Codable, Sendable, CaseIterable {
    case badRequest = "bad-request"
    case malformedSeal = "malformed-seal"
    case wrongTenant = "wrong-tenant"
    case unauthorized
    case forbidden
    case wrongHost = "wrong-host"
    case unknownSigner = "unknown-signer"
    case notFound = "not-found"
    case chainConflict = "chain-conflict"
    case held
    case chainHead = "chain-head"
    case incompleteDAG = "incomplete-dag"
    case tooLarge = "too-large"
    case rangeNotSatisfiable = "range-not-satisfiable"
    case immutable
    case addressMismatch = "address-mismatch"
    case malformedObject = "malformed-object"
    case badSignature = "bad-signature"
    case missingObjects = "missing-objects"
    case implausibleSeal = "implausible-seal"
    case tooManyFailures = "too-many-failures"
    case `internal`
    case unavailable
    case overloaded
    case insufficientStorage = "insufficient-storage"
    case quotaExceeded = "quota-exceeded"

    /// The HTTP status a refusal with this code has.
    package var status: Int {
        switch self {
        case .badRequest, .malformedSeal, .wrongTenant: return 400
        case .unauthorized: return 401
        case .forbidden, .wrongHost, .unknownSigner: return 403
        case .notFound: return 404
        case .chainConflict, .held, .chainHead, .incompleteDAG: return 409
        case .tooLarge: return 413
        case .rangeNotSatisfiable: return 416
        case .addressMismatch, .malformedObject, .badSignature, .missingObjects, .implausibleSeal: return 422
        case .immutable: return 423
        case .tooManyFailures: return 429
        case .internal: return 500
        case .unavailable, .overloaded: return 503
        case .insufficientStorage, .quotaExceeded: return 507
        }
    }

    /// Whether the same request may succeed later without anyone acting: the site failed, is
    /// busy, throttles, or is full. A quota waits for its administrator: not transient.
    package var isTransient: Bool {
        switch self {
        case .internal, .unavailable, .overloaded, .tooManyFailures, .insufficientStorage: return true
        default: return false
        }
    }
}
