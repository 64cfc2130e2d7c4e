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
        let moto = try MotoServer()
        defer { moto.stop() }
        let store = try S3Store(location: S3Location(endpoint: moto.endpoint, bucket: "skiff-test", prefix: "tenants/\(UInt32.random(in: 0...UInt32.max))"),
                                signer: Self.signer)
        do {
            try await store.createBucket()
            try await check.run(store, try ConformanceFixture())
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
        let uploads = try CommandRunner.run("/usr/bin/env", ["aws", "--endpoint-url", moto.endpoint, "s3api", "list-multipart-uploads", "--bucket", "skiff-parts"],
                                            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"])
        #expect(uploads.status == 0 && !uploads.standardOutput.contains("UploadId"), "\(uploads)")
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
}
