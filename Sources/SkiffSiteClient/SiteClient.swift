import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SkiffCore
import SkiffSiteProtocol
import SkiffStorage

/// The HTTPS client of one site for one tenant.
///
/// It is an `ObjectStore` (objects and seals under the keys of docs/FORMAT.md, so restore,
/// verify and the conformance suite work through a site unchanged) and a `SiteConnection`
/// for replication. Requests are not retried here: callers decide (replication backs off,
/// restore moves to another site). Call `shutdown()` when done.
package final class SiteClient: ObjectStore, SiteConnection {
    package let endpoint: SiteEndpoint
    package let tenant: TenantID
    private let client: HTTPClient
    private let authorization: String
    /// Whole-object reads go out together (see `FetchBatcher`).
    private let batcher: FetchBatcher
    static let requestTimeout = TimeAmount.seconds(120)

    package var name: String { endpoint.name }

    private init(endpoint: SiteEndpoint, tenant: TenantID, client: HTTPClient) {
        self.endpoint = endpoint
        self.tenant = tenant
        self.client = client
        let authorization = "Bearer \(endpoint.token)"
        self.authorization = authorization
        batcher = FetchBatcher { addresses, deliver in
            try await Self.fetch(addresses, deliver: deliver, client: client, endpoint: endpoint, tenant: tenant, authorization: authorization)
        }
    }

    /// One `POST …/fetch`, read as it arrives: `deliver` gets each answered object (nil: the
    /// site lacks it) as soon as its last byte is in. Addresses never delivered were left out
    /// for size and must be asked again.
    private static func fetch(_ addresses: [ObjectAddress], deliver: (ObjectAddress, [UInt8]?) -> Void, client: HTTPClient,
                              endpoint: SiteEndpoint, tenant: TenantID, authorization: String) async throws {
        let query = try SiteAPI.jsonEncoder().encode(FetchQuery(addresses: addresses.map(\.hex)))
        let request = makeRequest(SiteRoute(.fetch, tenant: tenant), body: .bytes(query), contentType: "application/json", headers: [],
                                  endpoint: endpoint, authorization: authorization)
        do {
            let response = try await client.execute(request, timeout: requestTimeout)
            let status = Int(response.status.code)
            guard status == 200 else {
                let data = try await response.body.collect(upTo: 1 << 20)
                if status >= 400 { throw refusal(status, data, site: endpoint.name) }
                throw SiteClientError.protocolViolation(site: endpoint.name, "a fetch answered \(status), not 200")
            }
            var parser = ObjectBundleParser.fetchAnswer(wanted: Set(addresses))
            for try await piece in response.body {
                try piece.withUnsafeReadableBytes { try parser.consume($0, deliver: deliver) }
            }
            try parser.finish()
        } catch let error as FormatError {
            throw SiteClientError.protocolViolation(site: endpoint.name, "unreadable fetch answer: \(error)")
        } catch let error as SiteClientError {
            throw error
        } catch {
            throw classify(error, site: endpoint.name)
        }
    }

    /// Prepares a client. For a pinned fingerprint, fetches the site's certificate once and
    /// checks it; every later connection then trusts exactly that certificate.
    /// - Throws: `SiteClientError.untrusted` when the certificate does not match the pin,
    ///   `.unreachable` when the site cannot be reached to check it.
    package static func connect(_ endpoint: SiteEndpoint, tenant: TenantID) async throws -> SiteClient {
        guard let (host, port) = endpoint.hostAndPort else {
            throw SiteClientError.protocolViolation(site: endpoint.name, "the site URL must be https://HOST[:PORT]: \(endpoint.url)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch endpoint.trust {
        case .system:
            break
        case .certificateAuthority(let file):
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) } catch {
                throw SiteClientError.untrusted(site: endpoint.name, "cannot read the CA file \(file): \(error)")
            }
        case .pinned(let expected):
            let certificate: NIOSSLCertificate
            do { certificate = try await CertificateProbe.certificate(host: host, port: port) } catch {
                throw classify(error, site: endpoint.name)
            }
            let actual = try CertificateProbe.fingerprint(certificate)
            let wanted = expected.lowercased().replacingOccurrences(of: "sha256:", with: "").replacingOccurrences(of: ":", with: "")
            guard actual == wanted else {
                throw SiteClientError.untrusted(site: endpoint.name, "its certificate has fingerprint sha256:\(actual), not the pinned sha256:\(wanted)")
            }
            guard CertificateProbe.canAnchorItself(certificate) else {
                throw SiteClientError.untrusted(
                    site: endpoint.name,
                    "the pinned certificate is not self-signed with CA:TRUE (as `skiff-site init` makes them); for a certificate from a CA, use ca_file instead of fingerprint")
            }
            tls.trustRoots = .certificates([certificate])
            tls.certificateVerification = .noHostnameVerification
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .http1Only
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        return SiteClient(endpoint: endpoint, tenant: tenant, client: client)
    }

    package func shutdown() async throws {
        try await client.shutdown()
    }

    /// Fetch requests the client keeps in flight now (2 near, up to 8 as the measured round
    /// trip grows; `FetchBatcher`): callers that read many objects at once scale with it.
    package var fetchWindow: Int {
        get async { await batcher.window }
    }

    // MARK: Requests

    /// Sends a request; returns status and body (up to `limit` bytes). Refusals (4xx, 5xx)
    /// become `SiteClientError.rejected` with the site's code unless `accepting` lists them.
    private func send(_ route: SiteRoute, body: HTTPClientRequest.Body? = nil, contentType: String = "application/octet-stream",
                      headers extra: [(String, String)] = [], limit: Int = 1 << 20, accepting: Set<Int> = []) async throws -> (Int, ByteBuffer) {
        try await Self.send(route, body: body, contentType: contentType, headers: extra, limit: limit, accepting: accepting,
                            client: client, endpoint: endpoint, authorization: authorization)
    }

    /// `send`, for callers that have no client instance yet (the fetch batcher, made in `init`).
    private static func send(_ route: SiteRoute, body: HTTPClientRequest.Body?, contentType: String, headers extra: [(String, String)],
                             limit: Int, accepting: Set<Int>, client: HTTPClient, endpoint: SiteEndpoint, authorization: String)
        async throws -> (Int, ByteBuffer)
    {
        let request = makeRequest(route, body: body, contentType: contentType, headers: extra, endpoint: endpoint, authorization: authorization)
        var attempt = 1
        while true {
            do {
                let response = try await client.execute(request, timeout: requestTimeout)
                let status = Int(response.status.code)
                let data = try await response.body.collect(upTo: limit)
                if status >= 400 && !accepting.contains(status) { throw refusal(status, data, site: endpoint.name) }
                return (status, data)
            } catch let error as SiteClientError {
                throw error
            } catch where isClosedBeforeAnswer(error) && attempt < maxAttemptsOnClosedConnection {
                attempt += 1
            } catch {
                throw classify(error, site: endpoint.name)
            }
        }
    }

    /// Tries of a request whose connection closes before any answer (`isClosedBeforeAnswer`).
    static let maxAttemptsOnClosedConnection = 3

    /// Whether a request failed because its connection closed before the site answered: a
    /// pooled connection the site had just closed (idle timeout, a restart), which the HTTP
    /// client may still hand out and then reports as a pipeline or closed-connection error.
    /// Every request of the protocol is idempotent (uploads are put-if-absent, the rest read),
    /// so `send` sends it again, on a new connection.
    static func isClosedBeforeAnswer(_ error: any Error) -> Bool {
        switch error {
        case is ChannelPipelineError: return true
        case let error as HTTPClientError: return error == .remoteConnectionClosed
        default: return false
        }
    }

    private static func makeRequest(_ route: SiteRoute, body: HTTPClientRequest.Body?, contentType: String, headers extra: [(String, String)],
                                    endpoint: SiteEndpoint, authorization: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.url + route.target)
        request.method = HTTPMethod(rawValue: route.method)
        request.headers.add(name: "Authorization", value: authorization)
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = body
        }
        return request
    }

    /// The site's refusal (status 400 and up), with its protocol error code when it sent one.
    private static func refusal(_ status: Int, _ data: ByteBuffer, site: String) -> SiteClientError {
        if let body = try? SiteAPI.jsonDecoder().decode(ErrorBody.self, from: Data(data.readableBytesView)) {
            return .rejected(site: site, status: status, code: SiteErrorCode(rawValue: body.error.code), message: body.error.message,
                             addresses: body.error.addresses ?? [])
        }
        return .rejected(site: site, status: status, code: nil, message: "no protocol error body", addresses: [])
    }

    private func json<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do { return try SiteAPI.jsonDecoder().decode(type, from: Data(buffer.readableBytesView)) } catch {
            throw SiteClientError.protocolViolation(site: endpoint.name, "unreadable \(type) answer: \(error)")
        }
    }

    /// Names the failure: unreachable (connect, timeout, reset), untrusted (TLS), or other.
    static func classify(_ error: any Error, site: String) -> SiteClientError {
        switch error {
        case let error as SiteClientError: return error
        case let error as NIOSSLError:
            if "\(error)".contains("CERTIFICATE_VERIFY_FAILED") {
                return .untrusted(site: site, "its TLS certificate does not verify against the configured trust (ca_file or fingerprint)")
            }
            return .untrusted(site: site, "TLS: \(error)")
        case let error as NIOSSLExtraError: return .untrusted(site: site, "TLS: \(error)")
        case let error as HTTPClientError:
            if error == .tlsHandshakeTimeout { return .untrusted(site: site, "TLS handshake timed out") }
            return .unreachable(site: site, "\(error)")
        case let error as NIOConnectionError: return .unreachable(site: site, "\(error)")
        case let error as IOError: return .unreachable(site: site, "\(error)")
        case let error as ChannelError: return .unreachable(site: site, "\(error)")
        case is NIOTooManyBytesError: return .protocolViolation(site: site, "the answer is larger than any object")
        default: return .unreachable(site: site, "\(error)")
        }
    }

    /// Whether the site answers its health endpoint.
    package func health() async throws -> HealthBody {
        let (_, body) = try await send(SiteRoute(.health))
        return try json(HealthBody.self, body)
    }

    /// The site's own scrubbing of this tenant's objects (readers, auditors, admins).
    package func scrubStatus() async throws -> ScrubStatus {
        let (_, body) = try await send(SiteRoute(.scrubStatus, tenant: tenant))
        return try json(ScrubStatus.self, body)
    }

    // MARK: SiteConnection

    package func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress> {
        guard !addresses.isEmpty else { return [] }
        var lacking = Set<ObjectAddress>()
        var start = 0
        while start < addresses.count {
            let page = Array(addresses[start..<min(start + 10_000, addresses.count)])
            let query = try SiteAPI.jsonEncoder().encode(MissingQuery(addresses: page.map(\.hex), identities: []))
            let (_, body) = try await send(SiteRoute(.missing, tenant: tenant), body: .bytes(query), contentType: "application/json", limit: 4 << 20)
            for text in try json(MissingAnswer.self, body).missing {
                guard let address = ObjectAddress(hex: text) else { throw SiteClientError.protocolViolation(site: name, "bad address \(text)") }
                lacking.insert(address)
            }
            start += page.count
        }
        return lacking
    }

    /// The addresses the site holds for these keyed identities (deduplication without a cache).
    package func known(_ identities: [ObjectIdentity]) async throws -> [ObjectIdentity: ObjectAddress] {
        let query = try SiteAPI.jsonEncoder().encode(MissingQuery(addresses: [], identities: identities.map(\.hex)))
        let (_, body) = try await send(SiteRoute(.missing, tenant: tenant), body: .bytes(query), contentType: "application/json", limit: 4 << 20)
        var known: [ObjectIdentity: ObjectAddress] = [:]
        for (identity, address) in try json(MissingAnswer.self, body).known {
            if let identity = ObjectIdentity(hex: identity), let address = ObjectAddress(hex: address) { known[identity] = address }
        }
        return known
    }

    package func putObject(_ address: ObjectAddress, bytes: [UInt8]) async throws {
        _ = try await send(SiteRoute(.putObject, tenant: tenant, address: address), body: .bytes(bytes))
    }

    package func putObjects(_ objects: [(address: ObjectAddress, bytes: [UInt8])]) async throws -> BundleAcceptance {
        guard !objects.isEmpty else { return BundleAcceptance(stored: 0, present: 0) }
        let bytes = Dictionary(objects.map { ($0.address, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        return try await putObjects(objects.map(\.address), sizes: objects.map(\.bytes.count)) { bytes[$0] ?? [] }
    }

    package func putObjects(_ addresses: [ObjectAddress], sizes: [Int], load: @escaping @Sendable (ObjectAddress) async throws -> [UInt8]) async throws -> BundleAcceptance {
        guard !addresses.isEmpty else { return BundleAcceptance(stored: 0, present: 0) }
        let body = BundleBody(addresses: addresses, sizes: sizes, load: load)
        let (_, answer) = try await send(SiteRoute(.putObjects, tenant: tenant), body: .stream(body, length: .known(Int64(body.length))),
                                         contentType: ObjectBundle.contentType)
        return try json(BundleAcceptance.self, answer)
    }

    package func putSeal(_ seal: Seal) async throws -> Bool {
        let (status, _) = try await send(SiteRoute(.putSeal, tenant: tenant), body: .bytes(seal.encoded))
        return status == 201
    }

    package func newestSeal(host: String) async throws -> Seal? {
        var newest: SealIndexEntry?
        var after: String?
        while true {
            let query = [("host", host), ("limit", "10000")] + (after.map { [("after", $0)] } ?? [])
            let (_, body) = try await send(SiteRoute(.listSeals, tenant: tenant, query: query), limit: 16 << 20)
            let page = try json(SealListing.self, body).seals
            guard let last = page.last else { break }
            newest = last
            after = "\(last.host)/\(last.sequence)"
        }
        guard let newest, let name = newest.name else { return nil }
        return try Seal.decode(try await get(.seal(name)))
    }

    // MARK: ObjectStore

    package func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        if let address = key.objectAddress {
            let (status, _) = try await send(SiteRoute(.putObject, tenant: tenant, address: address), body: .bytes(bytes))
            return status == 201 ? .stored : .alreadyPresent
        }
        if key.sealName != nil {
            let (status, _) = try await send(SiteRoute(.putSeal, tenant: tenant), body: .bytes(bytes))
            return status == 201 ? .stored : .alreadyPresent
        }
        throw StoreError.invalidKey("\(key.path) (a site stores only objects and seals)")
    }

    package func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        let route: SiteRoute
        let address = key.objectAddress
        if let address {
            if byteRange == nil || byteRange!.isEmpty { return try await batcher.fetch(address) }
            route = SiteRoute(.getObject, tenant: tenant, address: address)
        } else if let name = key.sealName {
            route = SiteRoute(.getSeal, tenant: tenant, seal: name)
        } else if let name = key.retiredSealName {
            route = SiteRoute(.getRetiredSeal, tenant: tenant, seal: name)
        } else {
            throw StoreError.notFound(key)
        }
        var headers: [(String, String)] = []
        if let byteRange, byteRange.lowerBound < byteRange.upperBound {
            let end = byteRange.upperBound == Int.max ? "" : "\(byteRange.upperBound - 1)"
            headers.append(("Range", "bytes=\(byteRange.lowerBound)-\(end)"))
        }
        let (status, body) = try await send(route, headers: headers, limit: ObjectHeader.maxObjectSize + 1024, accepting: [404, 416])
        switch status {
        case 404: throw StoreError.notFound(key)
        case 416: return []  // the range starts at or after the end: no bytes, as the protocol says
        default: return Array(body.readableBytesView)
        }
    }

    package func size(_ key: StoreKey) async throws -> Int? {
        if let address = key.objectAddress {
            let route = SiteRoute(.headObject, tenant: tenant, address: address)
            var request = HTTPClientRequest(url: endpoint.url + route.target)
            request.method = HTTPMethod(rawValue: route.method)
            request.headers.add(name: "Authorization", value: authorization)
            do {
                let response = try await client.execute(request, timeout: Self.requestTimeout)
                _ = try await response.body.collect(upTo: 0)
                switch response.status.code {
                case 200: return response.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0
                case 404: return nil
                default: throw SiteClientError.rejected(site: name, status: Int(response.status.code), code: nil, message: "HEAD refused", addresses: [])
                }
            } catch let error as SiteClientError {
                throw error
            } catch {
                throw Self.classify(error, site: name)
            }
        }
        if key.sealName != nil {
            do { return try await get(key).count } catch StoreError.notFound { return nil }
        }
        return nil
    }

    package func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey] {
        if prefix.hasPrefix(StoreKey.objectsPrefix) || StoreKey.objectsPrefix.hasPrefix(prefix) {
            let query = [("limit", "\(min(limit, 10_000))")] + (after?.objectAddress.map { [("after", $0.hex)] } ?? [])
            let (_, body) = try await send(SiteRoute(.listObjects, tenant: tenant, query: query), limit: 16 << 20)
            let keys = try json(ObjectListing.self, body).objects.compactMap { ObjectAddress(hex: $0) }.map { StoreKey.object($0) }
            return keys.filter { $0.path.hasPrefix(prefix) }
        }
        for (folder, retired) in [(StoreKey.sealsPrefix, false), (StoreKey.retiredPrefix, true)]
        where prefix.hasPrefix(folder) || folder.hasPrefix(prefix) {
            var query = [("limit", "\(min(limit, 10_000))")]
            if retired { query.append(("state", "retired")) }
            let rest = prefix.dropFirst(folder.count)
            if let slash = rest.firstIndex(of: "/") { query.append(("host", String(rest[..<slash]))) }
            if let name = retired ? after?.retiredSealName : after?.sealName { query.append(("after", "\(name.host)/\(name.sequence)")) }
            let (_, body) = try await send(SiteRoute(.listSeals, tenant: tenant, query: query), limit: 16 << 20)
            let keys = try json(SealListing.self, body).seals.compactMap(\.name).map { retired ? StoreKey.retiredSeal($0) : StoreKey.seal($0) }
            return keys.filter { $0.path.hasPrefix(prefix) }
        }
        return []
    }

    package func delete(_ key: StoreKey) async throws {
        guard let address = key.objectAddress else { throw StoreError.invalidKey("\(key.path) (only objects can be deleted at a site)") }
        _ = try await send(SiteRoute(.deleteObject, tenant: tenant, address: address))
    }

    /// A site makes objects durable before it accepts a seal that reaches them.
    package func flush() async throws {}
}
