import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SkiffCore
import SkiffStorage
import Synchronization

/// Where and how to reach a bucket.
package struct S3Location: Sendable {
    /// `http://127.0.0.1:9000`, `https://s3.eu-central-1.amazonaws.com`, a Ceph RGW or MinIO URL.
    package var endpoint: String
    package var bucket: String
    /// Keys are stored under this prefix (no leading or trailing slash; empty for the bucket root).
    package var prefix: String
    package var region: String
    /// Path style (`endpoint/bucket/key`: MinIO, Ceph RGW, moto) or virtual-host style
    /// (`bucket.endpoint/key`: AWS).
    package var pathStyle: Bool
    /// PEM file of the CA that signs the endpoint's certificate (HTTPS with a private CA).
    package var caFile: String?
    /// Values larger than this go up as a multipart upload in parts of this size (S3's minimum
    /// part size, 5 MiB, is the smallest allowed).
    package var partSize: Int

    package static let minimumPartSize = 5 << 20

    package init(endpoint: String, bucket: String, prefix: String = "", region: String = "us-east-1", pathStyle: Bool = true, caFile: String? = nil,
                 partSize: Int = 8 << 20) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.pathStyle = pathStyle
        self.caFile = caFile
        self.partSize = max(partSize, Self.minimumPartSize)
    }
}

/// The storage protocol on S3-compatible object storage.
///
/// - `put` is a conditional create (`If-None-Match: *`): 412 means the key holds a value.
///   Services without conditional writes (501 or 400 on the header) get a `HEAD` first: safe
///   for Skiff's keys, which are content-derived (a racing put writes the same bytes).
/// - A `PUT` that returned 200 is durable: `flush` has nothing to do.
/// - Listing uses ListObjectsV2 (`start-after`, `max-keys`), sorted bytewise like every store.
/// - 5xx answers, throttling (503 SlowDown) and connection failures are retried with
///   exponential backoff (5 attempts from 0.2 s); 403 and 404 on the bucket, and a wrong
///   region, are reported plainly.
package final class S3Store: ObjectStore {
    let location: S3Location
    let signer: S3Signer
    let client: HTTPClient
    let host: String
    /// Set once the service refused a conditional write: later puts HEAD first.
    let conditionalPutsRefused = Atomic<Bool>(false)

    package convenience init(location: S3Location, signer: S3Signer) throws {
        guard let url = URL(string: location.endpoint), let endpointHost = url.host, url.scheme == "http" || url.scheme == "https" else {
            throw StoreError.unavailable("\(location.endpoint) is not an S3 endpoint URL (http:// or https://)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile = location.caFile {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw StoreError.unavailable("CA file \(caFile): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let port = url.port.map { ":\($0)" } ?? ""
        self.init(location: location, signer: signer, client: client,
                  host: location.pathStyle ? "\(endpointHost)\(port)" : "\(location.bucket).\(endpointHost)\(port)")
    }

    private init(location: S3Location, signer: S3Signer, client: HTTPClient, host: String) {
        self.location = location
        self.signer = signer
        self.client = client
        self.host = host
    }

    /// The same bucket and connections, with keys under `prefix/subprefix`. Shutting the parent
    /// down closes this one too; do not shut this one down.
    package func scoped(to subprefix: String) -> S3Store {
        var location = self.location
        location.prefix = location.prefix.isEmpty ? subprefix : "\(location.prefix)/\(subprefix)"
        let scoped = S3Store(location: location, signer: signer, client: client, host: host)
        if conditionalPutsRefused.load(ordering: .relaxed) { scoped.conditionalPutsRefused.store(true, ordering: .relaxed) }
        return scoped
    }

    /// Closes the connections. Call once, when done with the store.
    package func shutdown() async throws { try await client.shutdown() }

    /// Credentials from the usual environment variables.
    package static func signerFromEnvironment(region: String) throws -> S3Signer {
        let environment = ProcessInfo.processInfo.environment
        guard let access = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw StoreError.unavailable("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or give them in the configuration)")
        }
        return S3Signer(accessKey: access, secretKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"], region: region)
    }

    func objectPath(_ key: String) -> String {
        let full = location.prefix.isEmpty ? key : "\(location.prefix)/\(key)"
        return bucketPath + "/" + PercentEncoding.encode(full, keepSlash: true)
    }

    var bucketPath: String { location.pathStyle ? "/\(PercentEncoding.encode(location.bucket))" : "" }

    private var baseURL: String {
        guard !location.pathStyle, let url = URL(string: location.endpoint), let scheme = url.scheme else { return location.endpoint }
        return "\(scheme)://\(host)"
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        /// The `<Code>` of an S3 error body, if there is one.
        var code: String? { S3Store.element("Code", in: String(decoding: body.prefix(4096), as: UTF8.self)) }
    }

    /// Sends one signed request, retrying 5xx and connection failures.
    func send(_ method: HTTPMethod, path: String, query: [(String, String)] = [], headers extra: [(String, String)] = [],
              body: [UInt8]? = nil, limit: Int = 1 << 20) async throws -> Answer
    {
        var delay = 0.2
        var attempt = 0
        while true {
            attempt += 1
            do {
                let answer = try await sendOnce(method, path: path, query: query, headers: extra, body: body, limit: limit)
                if answer.status >= 500 && attempt < 5 {
                    try await Task.sleep(for: .seconds(delay * Double.random(in: 0.8...1.2)))
                    delay *= 2
                    continue
                }
                return answer
            } catch let error as StoreError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as NIOSSLError where "\(error)".contains("CERTIFICATE_VERIFY_FAILED") {
                // Asking again cannot make a certificate trusted: say so at once.
                throw StoreError.unavailable("the TLS certificate of \(location.endpoint) does not verify (a private CA? give its PEM file: --s3-ca-file): \(error)")
            } catch {
                guard attempt < 5 else { throw StoreError.io("S3 \(method) \(path): \(error)") }
                try await Task.sleep(for: .seconds(delay * Double.random(in: 0.8...1.2)))
                delay *= 2
            }
        }
    }

    private func sendOnce(_ method: HTTPMethod, path: String, query: [(String, String)], headers extra: [(String, String)], body: [UInt8]?,
                          limit: Int) async throws -> Answer
    {
        let queryString = query.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: baseURL + path + (queryString.isEmpty ? "" : "?\(queryString)"))
        request.method = method
        let payload = body ?? []
        let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: [("host", host)] + extra,
                                 payloadHash: SHA256Hasher.digest(payload).hex, date: Date())
        for (name, value) in extra + signed { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.replaceOrAdd(name: "Content-Length", value: "\(body.count)")
        }
        let response = try await client.execute(request, timeout: .seconds(120))
        let data = try await response.body.collect(upTo: limit)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(data.readableBytesView))
    }

    /// Turns an unexpected answer into a clear error.
    func failure(_ answer: Answer, _ what: String) -> StoreError {
        let code = answer.code ?? "HTTP \(answer.status)"
        let message = Self.element("Message", in: String(decoding: answer.body.prefix(4096), as: UTF8.self)) ?? ""
        switch (answer.status, code) {
        case (403, _): return .permissionDenied("S3 \(what): \(code) \(message) (check the credentials, their policy and the clock)")
        case (404, "NoSuchBucket"): return .unavailable("S3 bucket \(location.bucket) does not exist at \(location.endpoint)")
        case (301, _), (400, "AuthorizationHeaderMalformed"), (400, "IllegalLocationConstraintException"):
            return .unavailable("S3 bucket \(location.bucket) is not in region \(location.region): \(code) \(message)")
        case (507, _), (_, "QuotaExceeded"), (_, "EntityTooLarge"): return .noSpace("S3 \(what): \(code) \(message)")
        default: return .io("S3 \(what): \(code) \(message)")
        }
    }

    static func element(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    // MARK: ObjectStore

    package func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        if bytes.count > location.partSize { return try await putInParts(key, bytes) }
        let path = objectPath(key.path)
        if !conditionalPutsRefused.load(ordering: .relaxed) {
            let answer = try await send(.PUT, path: path, headers: [("If-None-Match", "*")], body: bytes)
            switch answer.status {
            case 200: return .stored
            case 412, 409: return .alreadyPresent
            case _ where answer.status == 501 || (answer.status == 400 && answer.code?.contains("NotImplemented") == true):
                conditionalPutsRefused.store(true, ordering: .relaxed)
            default: throw failure(answer, "PUT \(key)")
            }
        }
        if try await size(key) != nil { return .alreadyPresent }
        let answer = try await send(.PUT, path: path, body: bytes)
        guard answer.status == 200 else { throw failure(answer, "PUT \(key)") }
        return .stored
    }

    package func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        var headers: [(String, String)] = []
        if let byteRange {
            guard byteRange.lowerBound < byteRange.upperBound else { return [] }
            let end = byteRange.upperBound == Int.max ? "" : "\(byteRange.upperBound - 1)"
            headers.append(("Range", "bytes=\(byteRange.lowerBound)-\(end)"))
        }
        let answer = try await send(.GET, path: objectPath(key.path), headers: headers, limit: ObjectHeader.maxObjectSize * 2)
        switch answer.status {
        case 200, 206: return answer.body
        case 416: return []
        case 404 where answer.code != "NoSuchBucket": throw StoreError.notFound(key)
        default: throw failure(answer, "GET \(key)")
        }
    }

    package func size(_ key: StoreKey) async throws -> Int? {
        let answer = try await send(.HEAD, path: objectPath(key.path))
        switch answer.status {
        case 200: return answer.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0
        case 404: return nil
        default: throw failure(answer, "HEAD \(key)")
        }
    }

    package func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey] {
        precondition(limit > 0)
        let base = location.prefix.isEmpty ? "" : "\(location.prefix)/"
        var query = [("list-type", "2"), ("prefix", base + prefix), ("max-keys", "\(min(limit, 1000))")]
        if let after { query.append(("start-after", base + after.path)) }
        let answer = try await send(.GET, path: bucketPath + "/", query: query, limit: 16 << 20)
        guard answer.status == 200 else { throw failure(answer, "LIST \(prefix)") }
        return Self.elements("Key", in: String(decoding: answer.body, as: UTF8.self)).compactMap { name in
            name.hasPrefix(base) ? try? StoreKey(String(name.dropFirst(base.count))) : nil
        }
    }

    /// The names of the folders directly under `prefix` (ListObjectsV2 with a delimiter: one
    /// request per thousand folders, however many keys they hold).
    package func folders(under prefix: String) async throws -> [String] {
        let base = location.prefix.isEmpty ? "" : "\(location.prefix)/"
        var folders: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", base + prefix), ("delimiter", "/"), ("max-keys", "1000")]
            if let token { query.append(("continuation-token", token)) }
            let answer = try await send(.GET, path: bucketPath + "/", query: query, limit: 16 << 20)
            guard answer.status == 200 else { throw failure(answer, "LIST \(prefix)") }
            let text = String(decoding: answer.body, as: UTF8.self)
            folders += Self.elements("Prefix", in: text).compactMap { name -> String? in
                guard name.hasPrefix(base + prefix), name.hasSuffix("/"), name.count > base.count + prefix.count + 1 else { return nil }
                return String(name.dropFirst(base.count + prefix.count).dropLast())
            }
            token = Self.elements("IsTruncated", in: text).first == "true" ? Self.elements("NextContinuationToken", in: text).first : nil
        } while token != nil
        return folders
    }

    package func delete(_ key: StoreKey) async throws {
        let answer = try await send(.DELETE, path: objectPath(key.path))
        guard answer.status == 204 || answer.status == 200 || answer.status == 404 else { throw failure(answer, "DELETE \(key)") }
    }

    /// S3 makes a PUT durable before it answers 200.
    package func flush() async throws {}

    /// Creates the bucket (for tests and first set-up); an existing bucket of ours is fine.
    package func createBucket() async throws {
        let answer = try await send(.PUT, path: bucketPath.isEmpty ? "/" : bucketPath)
        guard answer.status == 200 || answer.code == "BucketAlreadyOwnedByYou" else {
            throw failure(answer, "create bucket \(location.bucket)")
        }
    }
}
