import Foundation
import SkiffCore
import SkiffS3
import SkiffStorage
import SkiffStorageConformance
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
