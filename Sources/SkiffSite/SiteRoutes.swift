import Foundation
import Hummingbird
import NIOCore
import SkiffCore
import SkiffSiteProtocol
import SkiffStorage

/// The HTTP endpoints of docs/PROTOCOL.md, over `SiteService`.
struct SiteRoutes: Sendable {
    let service: SiteService
    let scrubBytesPerSecond: Int
    let limiter: AuthenticationLimiter
    let bodies: BodyBudget

    func register(on router: Router<SiteRequestContext>) {
        let authentication = SiteAuthMiddleware(registry: service.registry, limiter: limiter, metrics: service.metrics)
        let tenants = router.group().add(middleware: authentication).add(middleware: SiteRefusalTrail(registry: service.registry))
            .add(middleware: SiteAuthorizationMiddleware())
        let metrics = service.metrics
        for operation in SiteOperation.allCases {
            let method = HTTPRequest.Method(operation.method)!
            let path = RouterPath(operation.pattern)
            switch operation {
            case .health: router.on(path, method: method) { _, _ in Self.json(HealthBody(status: "ok", version: SiteAPI.version)) }
            case .metrics:
                // Anyone sees the site-wide series; an administrator's token adds the per-tenant ones.
                router.on(path, method: method) { request, context -> Response in
                    let principal = try authentication.authenticate(request, context: context, required: false)
                    if let principal, principal.role != .admin {
                        throw SiteError.forbidden("only an administrator's token shows per-tenant metrics; ask without a token for the site-wide ones")
                    }
                    return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.text(detailed: principal != nil))))
                }
            case .missing: tenants.on(path, method: method, use: missing)
            case .putObject: tenants.on(path, method: method, use: putObject)
            case .putObjects: tenants.on(path, method: method, use: putObjects)
            case .fetch: tenants.on(path, method: method, use: fetchObjects)
            case .getObject: tenants.on(path, method: method, use: getObject)
            case .headObject: tenants.on(path, method: method, use: headObject)
            case .deleteObject: tenants.on(path, method: method, use: deleteObject)
            case .listObjects: tenants.on(path, method: method, use: listObjects)
            case .putSeal: tenants.on(path, method: method, use: putSeal)
            case .listSeals: tenants.on(path, method: method, use: listSeals)
            case .getSeal: tenants.on(path, method: method, use: getSeal)
            case .scrubStatus: tenants.on(path, method: method, use: scrubStatus)
            case .retireSeal: tenants.on(path, method: method, use: retireSeal)
            case .getRetiredSeal: tenants.on(path, method: method, use: getRetiredSeal)
            case .retentionSettings: tenants.on(path, method: method, use: retentionSettings)
            case .retentionPlan: tenants.on(path, method: method, use: retentionPlan)
            case .applyRetention: tenants.on(path, method: method, use: applyRetention)
            case .collectGarbage: tenants.on(path, method: method, use: collectGarbage)
            }
        }
    }

    // MARK: Helpers

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? SiteAPI.jsonEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func principal(_ context: SiteRequestContext) throws -> Principal {
        guard let principal = context.principal else { throw SiteError.unauthorized() }
        return principal
    }

    func tenant(_ context: SiteRequestContext) throws -> (TenantRecord, Principal) {
        let principal = try principal(context)
        return (try service.tenant(try context.parameters.require("tenant"), for: principal), principal)
    }

    func address(_ context: SiteRequestContext) throws -> ObjectAddress {
        guard let address = ObjectAddress(hex: try context.parameters.require("address")) else {
            throw SiteError.badRequest("an object address is 64 hexadecimal digits")
        }
        return address
    }

    /// "bytes=a-b" or "bytes=a-" (`ByteRangeHeader`) → a half-open range, open-ended as
    /// `Int.max`. Callers clamp it to the value before reading (`SiteService.getObject`).
    static func range(_ header: String?) throws -> Range<Int>? {
        guard let header else { return nil }
        guard let range = ByteRangeHeader.parse(header) else {
            throw SiteError.badRequest("unreadable Range header: one range bytes=a-b or bytes=a- is served")
        }
        return range.first..<(range.end ?? Int.max)
    }

    // MARK: Objects

    @Sendable func missing(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let query = try await bodies.withRoom(for: request, limit: context.maxUploadSize) {
            try await request.decode(as: MissingQuery.self, context: context)
        }
        guard query.addresses.count + query.identities.count <= SiteService.maxQueryItems else {
            throw SiteError.tooLarge("at most \(SiteService.maxQueryItems) addresses and identities per query")
        }
        let addresses = try query.addresses.map { text -> ObjectAddress in
            guard let address = ObjectAddress(hex: text) else { throw SiteError.badRequest("bad address \(text)") }
            return address
        }
        let identities = try query.identities.map { text -> ObjectIdentity in
            guard let identity = ObjectIdentity(hex: text) else { throw SiteError.badRequest("bad identity \(text)") }
            return identity
        }
        let answer = try await service.missing(tenant: tenant, addresses: addresses, identities: identities, principal: principal)
        return Self.json(MissingAnswer(missing: answer.missing.map(\.hex),
                                       known: Dictionary(uniqueKeysWithValues: answer.known.map { ($0.key.hex, $0.value.hex) })))
    }

    @Sendable func putObject(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let address = try address(context)
        return try await bodies.withRoom(for: request, limit: ObjectHeader.maxObjectSize) {
            let bytes = try await Self.body(of: request, limit: ObjectHeader.maxObjectSize)
            let outcome = try await service.putObject(tenant: tenant, address: address, bytes: bytes, principal: principal)
            return Response(status: outcome == .stored ? .created : .ok)
        }
    }

    /// A bundle's objects are copied out of the body as it arrives, each into its own array,
    /// so the site holds the body's bytes once, never the whole body besides its objects.
    @Sendable func putObjects(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return try await bodies.withRoom(for: request, limit: ObjectBundle.maxBodySize) {
            var parser = ObjectBundleParser.upload(declaredLength: Self.declaredLength(request))
            var objects: [(address: ObjectAddress, bytes: [UInt8])] = []
            var received = 0
            do {
                for try await piece in request.body {
                    received += piece.readableBytes
                    guard received <= ObjectBundle.maxBodySize else { throw SiteError.tooLarge("bundles are at most \(ObjectBundle.maxBodySize) bytes") }
                    try piece.withUnsafeReadableBytes { raw in
                        try parser.consume(raw) { address, bytes in
                            guard let bytes else { return }
                            objects.append((address, bytes))
                        }
                    }
                }
                try parser.finish()
            } catch let error as FormatError {
                throw SiteError.badRequest("malformed object bundle: \(error)")
            }
            return Self.json(try await service.putObjects(tenant: tenant, objects: objects, principal: principal))
        }
    }

    /// The `Content-Length` the request declares, if any.
    static func declaredLength(_ request: Request) -> Int? { request.headers[.contentLength].flatMap { Int($0) } }

    /// A whole request body, copied once into an array as it arrives.
    /// - Throws: `tooLarge` past `limit`.
    static func body(of request: Request, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(declaredLength(request) ?? 0, limit))
        for try await piece in request.body {
            guard bytes.count + piece.readableBytes <= limit else { throw SiteError.tooLarge("the body is over its limit of \(limit) bytes") }
            piece.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Objects at least this large go out in buffers of their own; smaller ones are gathered
    /// into pieces of about 1 MiB.
    static let fetchSentWhole = 64 << 10

    /// Several objects in one answer (a bundle of records in the order the site reads them,
    /// absent ones marked last), up to the bundle size limit: objects beyond it are left out,
    /// and the client asks again.
    ///
    /// The answer streams: the store reads neighbouring objects of a pack as one range straight
    /// into one buffer (`CollectableStore.readSpans`), pack by pack, reading the next range
    /// while this one is sent; large objects go out as slices of that buffer, small ones are
    /// gathered into pieces of about 1 MiB. Refusals (role, tenant, a bad query) come as status
    /// codes; a read that fails once the answer started cuts it short, which the client treats
    /// as a failed request.
    @Sendable func fetchObjects(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let query = try await request.decode(as: FetchQuery.self, context: context)
        guard query.addresses.count <= ObjectBundle.maxObjects else {
            throw SiteError.tooLarge("at most \(ObjectBundle.maxObjects) addresses per fetch")
        }
        let addresses = try query.addresses.map { text -> ObjectAddress in
            guard let address = ObjectAddress(hex: text) else { throw SiteError.badRequest("bad address \(text)") }
            return address
        }
        let service = service
        let body = ResponseBody { writer in
            let piece = 1 << 20
            var buffer = ByteBufferAllocator().buffer(capacity: piece + 64)
            var sent = 0
            /// Adds a record unless the answer would pass its limit (the first always fits).
            func fits(_ length: Int?) -> Bool {
                guard sent == 0 || sent + ObjectBundle.framing + (length ?? 0) <= ObjectBundle.maxBodySize else { return false }
                sent += ObjectBundle.framing + (length ?? 0)
                return true
            }
            var full = false
            let absent = try await service.readObjects(tenant: tenant, addresses: addresses, principal: principal, into: { count, fill in
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { try fill($0) }
                return buffer
            }) { span in
                for (position, range) in span.values {
                    guard let object = span.buffer.getSlice(at: range.lowerBound, length: range.count) else {
                        throw SiteError(.internal, "a read of \(addresses[position].hex) came back short")
                    }
                    guard fits(range.count) else {
                        full = true
                        return false
                    }
                    buffer.writeBytes(ObjectBundle.recordHeader(addresses[position], length: range.count))
                    if range.count >= Self.fetchSentWhole {
                        try await writer.write(buffer)
                        buffer.clear()
                        try await writer.write(object)
                    } else {
                        buffer.writeImmutableBuffer(object)
                    }
                    if buffer.readableBytes >= piece {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                return true
            }
            for position in absent where !full && fits(nil) {
                buffer.writeBytes(ObjectBundle.recordHeader(addresses[position], length: nil))
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: ObjectBundle.contentType], body: body)
    }

    @Sendable func getObject(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let address = try address(context)
        guard let range = try Self.range(request.headers[.range]) else {
            let bytes = try await service.getObject(tenant: tenant, address: address, principal: principal)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let part = try await service.getObject(tenant: tenant, address: address, range: range, principal: principal)
        let last = part.range.upperBound - 1
        return Response(status: .partialContent,
                        headers: [.contentType: "application/octet-stream", .contentRange: "bytes \(part.range.lowerBound)-\(last)/\(part.size)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: part.bytes)))
    }

    @Sendable func headObject(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        guard let size = try await service.objectSize(tenant: tenant, address: try address(context), principal: principal) else {
            throw SiteError.notFound("no such object")
        }
        return Response(status: .ok, headers: [.contentLength: "\(size)", .contentType: "application/octet-stream"])
    }

    @Sendable func deleteObject(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        try await service.deleteObject(tenant: tenant, address: try address(context), principal: principal)
        return Response(status: .noContent)
    }

    @Sendable func listObjects(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let query = request.uri.queryParameters
        var after: ObjectAddress?
        if let text = query.get("after") {
            guard let address = ObjectAddress(hex: text) else { throw SiteError.badRequest("after must be an object address") }
            after = address
        }
        let limit = query.get("limit", as: Int.self) ?? 1000
        let objects = try await service.listObjects(tenant: tenant, after: after, limit: limit, principal: principal)
        return Self.json(ObjectListing(objects: objects.map(\.hex)))
    }

    @Sendable func scrubStatus(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return Self.json(try service.scrubStatus(tenant: tenant, principal: principal, bytesPerSecond: scrubBytesPerSecond))
    }

    // MARK: Seals

    @Sendable func putSeal(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let (name, accepted) = try await service.putSeal(tenant: tenant, bytes: try await Self.body(of: request, limit: Seal.maxEncodedSize),
                                                         principal: principal)
        return Self.json(SealAcceptance(seal: "\(name)", accepted: accepted), status: accepted ? .created : .ok)
    }

    @Sendable func listSeals(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let query = request.uri.queryParameters
        var after: (String, UInt64)?
        if let text = query.get("after") {
            guard let cursor = SealListCursor.parse(text) else { throw SiteError.badRequest("after must be host/sequence") }
            after = (cursor.host, cursor.sequence)
        }
        let retired: Bool
        switch query.get("state") {
        case nil, "retained": retired = false
        case "retired": retired = true
        default: throw SiteError.badRequest("state is retained or retired")
        }
        let seals = try await service.listSeals(
            tenant: tenant, host: query.get("host"), since: query.get("since", as: Int64.self), until: query.get("until", as: Int64.self),
            after: after, limit: query.get("limit", as: Int.self) ?? 1000, retired: retired, principal: principal)
        return Self.json(SealListing(seals: seals))
    }

    func sealName(_ context: SiteRequestContext) throws -> SealName {
        guard let name = SealName(host: try context.parameters.require("host"), fileName: try context.parameters.require("file")) else {
            throw SiteError.badRequest("a seal file name is <16 hex sequence>-<64 hex hash>")
        }
        return name
    }

    @Sendable func getSeal(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let bytes = try await service.getSeal(tenant: tenant, name: try sealName(context), principal: principal)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Retention

    @Sendable func retireSeal(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        try await service.retireSeal(tenant: tenant, name: try sealName(context), principal: principal,
                                     reason: request.uri.queryParameters.get("reason") ?? "retired through the API")
        return Response(status: .noContent)
    }

    @Sendable func getRetiredSeal(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let bytes = try await service.getRetiredSeal(tenant: tenant, name: try sealName(context), principal: principal)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func retentionSettings(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return Self.json(try service.retentionSettings(tenant: tenant, principal: principal))
    }

    @Sendable func retentionPlan(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return Self.json(try await service.retentionPlan(tenant: tenant, principal: principal))
    }

    @Sendable func applyRetention(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return Self.json(try await service.applyRetention(tenant: tenant, principal: principal))
    }

    @Sendable func collectGarbage(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        return Self.json(try await service.collectGarbage(tenant: tenant, principal: principal))
    }
}
