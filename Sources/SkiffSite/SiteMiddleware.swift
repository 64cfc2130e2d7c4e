import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import SkiffSiteProtocol
import SkiffStorage

/// Turns every refusal into the protocol's JSON error body with a stable code.
struct SiteHTTPError: HTTPResponseError {
    let error: SiteError

    var status: HTTPResponse.Status { HTTPResponse.Status(code: error.status) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        // A HEAD answer has no body (HTTP), refusal or not.
        if request.method == .head { return Response(status: status) }
        let body = ErrorBody(code: error.code.rawValue, message: error.message, addresses: error.addresses.isEmpty ? nil : error.addresses)
        let data = try SiteAPI.jsonEncoder().encode(body)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfterSeconds { headers[.retryAfter] = "\(retryAfter)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Maps every error a handler throws to a `SiteHTTPError`, and counts requests by route and
/// status for the metrics.
struct SiteErrorMiddleware: RouterMiddleware {
    typealias Context = SiteRequestContext
    let metrics: SiteMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            metrics.request(route: route, status: Int(response.status.code), seconds: (ContinuousClock.now - started).seconds)
            return response
        } catch {
            let mapped = Self.map(error, logger: context.logger)
            metrics.request(route: route, status: mapped.error.status, seconds: (ContinuousClock.now - started).seconds)
            if mapped.error.isRefusal { metrics.rejected(code: mapped.error.code) }
            throw mapped
        }
    }

    static func map(_ error: any Error, logger: Logger) -> SiteHTTPError {
        switch error {
        case let error as SiteHTTPError: return error
        case let error as SiteError: return SiteHTTPError(error: error)
        case let error as StoreError: return SiteHTTPError(error: SiteError(error))
        case is NIOTooManyBytesError: return SiteHTTPError(error: .tooLarge("the request body is over its limit (docs/PROTOCOL.md)"))
        case let error as HTTPError:
            switch error.status.code {
            case 404: return SiteHTTPError(error: .notFound(error.body ?? "no such endpoint"))
            case 413: return SiteHTTPError(error: .tooLarge(error.body ?? "the request body is too large"))
            default: return SiteHTTPError(error: SiteError(error.status.code < 500 ? .badRequest : .internal, error.body ?? error.status.reasonPhrase, status: Int(error.status.code)))
            }
        case is DecodingError: return SiteHTTPError(error: .badRequest("the JSON body does not match the protocol"))
        // The client went away mid-request: its failure, not the site's (and nobody reads the answer).
        case NIOSSLError.uncleanShutdown, ChannelError.ioOnClosedChannel, ChannelError.eof:
            return SiteHTTPError(error: .badRequest("the connection closed before the request was complete"))
        case is CancellationError: return SiteHTTPError(error: .unavailable("the site is shutting down"))
        default:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return SiteHTTPError(error: .internalError("the site failed: \(error)"))
        }
    }
}

/// Requires `Authorization: Bearer <token>` and puts the principal in the context. Failed
/// authentication is limited per client address (`AuthenticationLimiter`): a throttled
/// address is refused before its token is looked up, and the moment it becomes throttled is
/// written to the audit trail.
struct SiteAuthMiddleware: RouterMiddleware {
    typealias Context = SiteRequestContext
    let registry: SiteRegistry
    let limiter: AuthenticationLimiter
    let metrics: SiteMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let principal = try authenticate(request, context: context) else { throw SiteError.unauthorized() }
        context.principal = principal
        return try await next(request, context)
    }

    /// The principal of the request's bearer token; nil when it carries none (`required`
    /// false only).
    /// - Throws: `unauthorized` for a missing (when required), unknown or revoked token,
    ///   `too-many-failures` for a throttled address.
    func authenticate(_ request: Request, context: Context, required: Bool = true) throws -> Principal? {
        let secret = request.headers[.authorization].flatMap { header -> String? in
            guard header.hasPrefix("Bearer ") else { return nil }
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if secret == nil, !required, request.headers[.authorization] == nil { return nil }
        let hash = secret.map(SiteRegistry.tokenHash)
        if case .throttled(let retryAfter) = limiter.admit(client: context.clientAddress, tokenHash: hash) {
            metrics.authenticationThrottled()
            throw SiteError.tooManyFailures(retryAfter: retryAfter)
        }
        guard let secret, let hash, let principal = try registry.authenticate(secret) else {
            metrics.authenticationFailed()
            if limiter.failed(client: context.clientAddress) {
                metrics.throttledAddresses(limiter.throttledCount())
                try registry.audit(actor: "anonymous", action: "auth-throttled", tenant: nil, detail: """
                    \(Int(limiter.burst)) failed authentications: further requests without a known token are refused with 429 \
                    (one more try every \(limiter.refill))
                    """, client: context.clientAddress, code: SiteErrorCode.tooManyFailures.rawValue)
            }
            throw SiteError.unauthorized(secret == nil ? "a valid bearer token is required" : "the token is unknown or revoked")
        }
        limiter.succeeded(client: context.clientAddress, tokenHash: hash)
        return principal
    }
}

/// Writes every refused attempt to change what the site holds (uploads, seals, deletions,
/// retirements, retention and collection runs) to the audit trail, whatever the reason: who
/// (token id and role, or none), from where, which tenant was asked for, which object or seal,
/// and the refusal's status, code and message. Runs after authentication, so it sees the
/// principal; refused authentication itself is the rate limiter's to record.
struct SiteRefusalTrail: RouterMiddleware {
    typealias Context = SiteRequestContext
    let registry: SiteRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = SiteErrorMiddleware.map(error, logger: context.logger)
            guard let pattern = context.endpointPath, let operation = SiteOperation(method: request.method.rawValue, pattern: pattern),
                  operation.changesState, mapped.error.isRefusal else { throw mapped }
            let parameters = context.parameters
            let subject = parameters.get("address") ?? parameters.get("host").map { "\($0)/\(parameters.get("file") ?? "")" }
            let refusal = RefusalRecord(
                operation: operation, tokenID: context.principal?.tokenID, role: context.principal?.role, client: context.clientAddress,
                tenantAsked: parameters.get("tenant") ?? "", subject: subject, status: mapped.error.status, code: mapped.error.code,
                message: mapped.error.message)
            do { try registry.recordRefusal(refusal) } catch {
                context.logger.error("writing a refusal to the audit trail failed", metadata: ["error": "\(error)"])
            }
            throw mapped
        }
    }
}

/// Refuses a principal whose role may not call the matched operation (`Principal.authorize`,
/// the role matrix), before any handler runs. Runs inside `SiteRefusalTrail`, so refusals of
/// changes are recorded like every other.
struct SiteAuthorizationMiddleware: RouterMiddleware {
    typealias Context = SiteRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal else { throw SiteError.unauthorized() }
        guard let pattern = context.endpointPath, let operation = SiteOperation(method: request.method.rawValue, pattern: pattern) else {
            throw SiteError.notFound("no such endpoint")
        }
        try principal.authorize(operation)
        return try await next(request, context)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
