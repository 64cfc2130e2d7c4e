import Foundation
import Hummingbird
import Logging
import NIOCore
import SkiffSiteProtocol

/// Turns every refusal into the protocol's JSON error body with a stable code.
struct SiteHTTPError: HTTPResponseError {
    let error: SiteError

    var status: HTTPResponse.Status { HTTPResponse.Status(code: error.status) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        // A HEAD answer has no body (HTTP), refusal or not.
        if request.method == .head { return Response(status: status) }
        let body = ErrorBody(code: error.code, message: error.message, addresses: error.addresses.isEmpty ? nil : error.addresses)
        let data = try SiteAPI.jsonEncoder().encode(body)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
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
            throw mapped
        }
    }

    static func map(_ error: any Error, logger: Logger) -> SiteHTTPError {
        switch error {
        case let error as SiteHTTPError: return error
        case let error as SiteError: return SiteHTTPError(error: error)
        case is NIOTooManyBytesError: return SiteHTTPError(error: .tooLarge("the request body is over its limit (docs/PROTOCOL.md)"))
        case let error as HTTPError:
            switch error.status.code {
            case 404: return SiteHTTPError(error: .notFound(error.body ?? "no such endpoint"))
            case 413: return SiteHTTPError(error: .tooLarge(error.body ?? "the request body is too large"))
            default: return SiteHTTPError(error: SiteError(Int(error.status.code), error.status.code < 500 ? "bad-request" : "internal", error.body ?? error.status.reasonPhrase))
            }
        case is DecodingError: return SiteHTTPError(error: .badRequest("the JSON body does not match the protocol"))
        case is CancellationError: return SiteHTTPError(error: .unavailable("the site is shutting down"))
        default:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return SiteHTTPError(error: .internalError("the site failed: \(error)"))
        }
    }
}

/// Requires `Authorization: Bearer <token>` and puts the principal in the context.
struct SiteAuthMiddleware: RouterMiddleware {
    typealias Context = SiteRequestContext
    let registry: SiteRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw SiteError.unauthorized()
        }
        guard let principal = try registry.authenticate(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw SiteError.unauthorized("the token is unknown or revoked")
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
