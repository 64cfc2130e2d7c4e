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

    func register(on router: Router<SiteRequestContext>, registry: SiteRegistry, metricsText: @escaping @Sendable () -> [UInt8]) {
        router.get("/v1/health") { _, _ -> Response in
            Self.json(HealthBody(status: "ok", version: SiteAPI.version))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
        let tenants = router.group("/v1/tenants").add(middleware: SiteAuthMiddleware(registry: registry))
        tenants.post(":tenant/missing", use: missing)
        tenants.put(":tenant/objects/:address", use: putObject)
        tenants.post(":tenant/objects", use: putObjects)
        tenants.post(":tenant/fetch", use: fetchObjects)
        tenants.get(":tenant/objects/:address", use: getObject)
        tenants.head(":tenant/objects/:address", use: headObject)
        tenants.delete(":tenant/objects/:address", use: deleteObject)
        tenants.get(":tenant/objects", use: listObjects)
        tenants.put(":tenant/seals", use: putSeal)
        tenants.get(":tenant/seals", use: listSeals)
        tenants.get(":tenant/seals/:host/:file", use: getSeal)
        tenants.get(":tenant/scrub", use: scrubStatus)
        tenants.delete(":tenant/seals/:host/:file", use: retireSeal)
        tenants.get(":tenant/retired/:host/:file", use: getRetiredSeal)
        tenants.get(":tenant/retention", use: retentionSettings)
        tenants.get(":tenant/retention/plan", use: retentionPlan)
        tenants.post(":tenant/retention/apply", use: applyRetention)
        tenants.post(":tenant/gc", use: collectGarbage)
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

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    /// "bytes=a-b" or "bytes=a-" (`ByteRangeHeader`) → a half-open range, open-ended as `Int.max`.
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
        let query = try await request.decode(as: MissingQuery.self, context: context)
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
        guard principal.mayWriteObjects else { throw SiteError.forbidden("a \(principal.role.rawValue) token cannot upload") }
        let body = try await request.body.collect(upTo: ObjectHeader.maxObjectSize)
        let outcome = try await service.putObject(tenant: tenant, address: address, bytes: Self.bytes(body), principal: principal)
        return Response(status: outcome == .stored ? .created : .ok)
    }

    @Sendable func putObjects(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        guard principal.mayWriteObjects else { throw SiteError.forbidden("a \(principal.role.rawValue) token cannot upload") }
        let body = try await request.body.collect(upTo: ObjectBundle.maxBodySize)
        let objects = try body.readableBytesView.withUnsafeBytes { raw in
            do {
                return try ObjectBundle.records(raw).map { (address: $0.address, bytes: Array(raw[$0.range])) }
            } catch let error as FormatError {
                throw SiteError.badRequest("malformed object bundle: \(error)")
            }
        }
        let acceptance = try await service.putObjects(tenant: tenant, objects: objects, principal: principal)
        return Self.json(acceptance)
    }

    /// Objects a fetch answer reads ahead of the one it sends.
    static let fetchReadAhead = 8

    /// Objects at least this large go out in buffers of their own; smaller ones are gathered
    /// into pieces of about 1 MiB.
    static let fetchSentWhole = 64 << 10

    /// Several objects in one answer (a bundle in the order asked, absent ones marked), up to
    /// the bundle size limit: objects beyond it are left out, and the client asks again.
    ///
    /// The answer streams: objects are sent while the next ones (up to `fetchReadAhead`) are
    /// read, so neither side holds a whole bundle before the first bytes move. Each object is
    /// read straight into a buffer that large objects are sent in as they are (small ones are
    /// gathered into pieces of about 1 MiB). The first object is read before the answer starts,
    /// so a refused reader gets its status code; a read that fails later cuts the answer short,
    /// which the client treats as a failed request.
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
        /// The object's bytes, or nil when the site does not hold it.
        @Sendable func read(_ address: ObjectAddress) async throws -> ByteBuffer? {
            do {
                return try await service.readObject(tenant: tenant, address: address, principal: principal) { count, fill in
                    var buffer = ByteBufferAllocator().buffer(capacity: count)
                    try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { try fill($0) }
                    return buffer
                }
            } catch let error as SiteError where error.code == "not-found" {
                return nil
            }
        }
        let first = addresses.isEmpty ? nil : try await read(addresses[0])
        let body = ResponseBody { writer in
            // Reads run a few objects ahead of the sending, so that reads which wait on the
            // disk overlap each other and the writes.
            var reads: [Task<ByteBuffer?, any Error>] = []
            defer { for read in reads { read.cancel() } }
            func startReads(through last: Int) {
                while reads.count <= min(last, addresses.count - 1) {
                    let address = addresses[reads.count]
                    reads.append(reads.isEmpty ? Task { first } : Task { try await read(address) })
                }
            }
            let piece = 1 << 20
            var buffer = ByteBufferAllocator().buffer(capacity: piece + 64)
            var sent = 0
            for (index, address) in addresses.enumerated() {
                startReads(through: index + Self.fetchReadAhead)
                let object = try await reads[index].value
                let length = object?.readableBytes
                if let length, sent > 0, sent + ObjectBundle.framing + length > ObjectBundle.maxBodySize { break }
                buffer.writeBytes(ObjectBundle.recordHeader(address, length: length))
                sent += ObjectBundle.framing + (length ?? 0)
                if let object, object.readableBytes >= Self.fetchSentWhole {
                    try await writer.write(buffer)
                    buffer.clear()
                    try await writer.write(object)
                } else if let object {
                    buffer.writeImmutableBuffer(object)
                }
                if buffer.readableBytes >= piece {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: ObjectBundle.contentType], body: body)
    }

    @Sendable func getObject(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let (tenant, principal) = try tenant(context)
        let range = try Self.range(request.headers[.range])
        let bytes = try await service.getObject(tenant: tenant, address: try address(context), range: range, principal: principal)
        return Response(status: range == nil ? .ok : .partialContent, headers: [.contentType: "application/octet-stream"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
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
        let body = try await request.body.collect(upTo: Seal.maxEncodedSize)
        let (name, accepted) = try await service.putSeal(tenant: tenant, bytes: Self.bytes(body), principal: principal)
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
