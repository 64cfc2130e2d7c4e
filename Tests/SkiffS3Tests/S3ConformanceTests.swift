import Foundation
import SkiffCore
import SkiffS3
import SkiffStorage
import SkiffStorageConformance
import SkiffSystem
import SkiffTestSupport
import Testing

/// The storage conformance suite against a real S3-protocol server (moto), one fresh prefix
/// per check; and the errors a misconfigured site gets.
@Suite(.serialized) struct S3ConformanceTests {
    static let signer = S3Signer(accessKey: "testing", secretKey: "testing", region: "us-east-1")

    @Test(arguments: ObjectStoreConformance.checks)
    func conformance(_ check: ConformanceCheck) async throws {
        try await Self.onFreshPrefix { try await check.run($0, try ConformanceFixture()) }
    }

    @Test(arguments: CollectableStoreConformance.checks)
    func siteStoreConformance(_ check: SiteStoreCheck) async throws {
        try await Self.onFreshPrefix { try await check.run($0, try ConformanceFixture()) }
    }

    /// Runs `body` on a store under a new prefix of a bucket in a moto server of its own; the
    /// store must shut down cleanly after it.
    static func onFreshPrefix(_ body: (S3Store) async throws -> Void) async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let store = try S3Store(location: S3Location(endpoint: moto.endpoint, bucket: "skiff-test", prefix: "tenants/\(UInt32.random(in: 0...UInt32.max))"),
                                signer: signer)
        do {
            try await store.createBucket()
            try await body(store)
            try await store.shutdown()
        } catch {
            try? await store.shutdown()
            throw error
        }
    }

    /// A value over the part size goes up in parts, once: a second put of it is `alreadyPresent`,
    /// the bytes read back whole, and no unfinished upload stays behind (the AWS CLI lists them).
    @Test func largeValuesGoUpInPartsOnceAndLeaveNoUploadBehind() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let store = try S3Store(location: S3Location(endpoint: moto.endpoint, bucket: "skiff-parts", partSize: 5 << 20), signer: Self.signer)
        try await withCleanup {
            try await store.createBucket()
            var random = SeededRandom(seed: 3)
            let bytes = random.bytes(12 << 20 + 5)
            let key = try StoreKey("objects/ab/large")
            #expect(try await store.put(key, bytes) == .stored)
            #expect(try await store.put(key, random.bytes(11 << 20)) == .alreadyPresent)
            #expect(try await store.get(key) == bytes)
            #expect(try await store.get(key, byteRange: (6 << 20)..<(6 << 20) + 10) == Array(bytes[(6 << 20)..<(6 << 20) + 10]))
        } cleanup: {
            try? await store.shutdown()
        }
        let uploads = try await CommandRunner.run("/usr/bin/env", ["aws", "--endpoint-url", moto.endpoint, "s3api", "list-multipart-uploads", "--bucket", "skiff-parts"],
                                            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"])
        #expect(uploads.status == 0 && !uploads.standardOutput.contains("UploadId"), "\(uploads)")
    }

    /// A scripted S3 endpoint (Python's http.server): throttling (503 SlowDown) twice, then the
    /// value; and a bucket in another region (301 PermanentRedirect).
    @Test func throttlingIsRetriedAndAWrongRegionIsNamed() async throws {
        let folder = try TemporaryDirectory("skiff-s3-script")
        let script = folder.appending("server.py")
        try TreeGenerator.write(Array(#"""
            import http.server, sys
            count = {"n": 0}
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_GET(self):
                    if "elsewhere" in self.path:
                        body = b"<Error><Code>PermanentRedirect</Code><Message>use eu-central-1</Message></Error>"
                        self.send_response(301)
                    else:
                        count["n"] += 1
                        if count["n"] <= 2:
                            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                            self.send_response(503)
                        else:
                            body = ("value after %d attempts" % count["n"]).encode()
                            self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
            server = http.server.HTTPServer(("127.0.0.1", 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#.utf8), to: script)
        let (server, port) = try Self.startServer(script, arguments: [])
        // SIGKILL: a child started from a concurrency thread inherits its blocked SIGTERM.
        defer { kill(server.processIdentifier, SIGKILL) }
        let store = try S3Store(location: S3Location(endpoint: "http://127.0.0.1:\(port)", bucket: "b"), signer: Self.signer)
        let elsewhere = try S3Store(location: S3Location(endpoint: "http://127.0.0.1:\(port)", bucket: "elsewhere"), signer: Self.signer)
        try await withCleanup {
            #expect(try await store.get(try StoreKey("objects/ab/x")) == Array("value after 3 attempts".utf8))
            do {
                _ = try await elsewhere.get(try StoreKey("objects/ab/x"))
                Issue.record("a bucket in another region must not read as a value")
            } catch let error as StoreError {
                #expect("\(error)".contains("not in region us-east-1"), "\(error)")
            }
        } cleanup: {
            try? await store.shutdown()
            try? await elsewhere.shutdown()
        }
    }

    @Test func aMissingBucketAndWrongCredentialsAreNamed() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let store = try S3Store(location: S3Location(endpoint: moto.endpoint, bucket: "no-such-bucket"), signer: Self.signer)
        do {
            _ = try await store.get(try StoreKey("config"))
            Issue.record("a missing bucket must not read as a missing key")
        } catch let error as StoreError {
            #expect("\(error)".contains("no-such-bucket") && "\(error)".contains("does not exist"), "\(error)")
        }
        try await store.shutdown()
    }

    /// An S3 endpoint behind a private CA (a Python HTTPS server with a certificate for
    /// 127.0.0.1 that the test's own CA signed): trusted with `caFile`, refused without, with
    /// the option to use named and no retries.
    @Test func httpsWithAPrivateCAIsTrustedOnlyWithItsCAFile() async throws {
        let folder = try TemporaryDirectory("skiff-s3-tls")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/bin/bash")
        make.currentDirectoryURL = URL(fileURLWithPath: folder.string)
        make.arguments = ["-ec", """
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=skiff-test-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            """]
        try make.run()
        make.waitUntilExit()
        try #require(make.terminationStatus == 0, "openssl could not make the test certificates")
        try TreeGenerator.write(Array(#"""
            import http.server, ssl, sys
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_GET(self):
                    body = b"over tls"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
            server = http.server.HTTPServer(("127.0.0.1", 0), H)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1] + "/server.pem", sys.argv[1] + "/server.key")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#.utf8), to: folder.appending("server.py"))
        let (server, port) = try Self.startServer(folder.appending("server.py"), arguments: [folder.string])
        defer { kill(server.processIdentifier, SIGKILL) }
        let endpoint = "https://127.0.0.1:\(port)"
        let trusted = try S3Store(location: S3Location(endpoint: endpoint, bucket: "b", caFile: folder.appending("ca.pem").description), signer: Self.signer)
        let untrusted = try S3Store(location: S3Location(endpoint: endpoint, bucket: "b"), signer: Self.signer)
        try await withCleanup {
            #expect(try await trusted.get(try StoreKey("objects/ab/x")) == Array("over tls".utf8))
            let started = ContinuousClock.now
            do {
                _ = try await untrusted.get(try StoreKey("objects/ab/x"))
                Issue.record("a certificate from an unknown CA must not be trusted")
            } catch let error as StoreError {
                #expect("\(error)".contains("--s3-ca-file"), "\(error)")
            }
            // AsyncHTTPClient retries the connection until its 10 s connect deadline, once; asking
            // again would cost that five times over.
            #expect(ContinuousClock.now - started < .seconds(30), "a certificate failure is not retried")
        } cleanup: {
            try? await trusted.shutdown()
            try? await untrusted.shutdown()
        }
    }

    /// Starts a Python test server script that prints its port on its first line.
    static func startServer(_ script: RawPath, arguments: [String]) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.description] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = String(decoding: PipeReader.some(output.fileHandleForReading), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(line) else {
            kill(process.processIdentifier, SIGKILL)
            throw TestFailure("the test server \(script) did not print its port: \(line)")
        }
        return (process, port)
    }
}
