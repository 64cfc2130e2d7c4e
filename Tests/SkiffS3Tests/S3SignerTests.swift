import Foundation
import SkiffCore
import SkiffS3
import Testing

/// Signature Version 4 against the examples AWS publishes for S3
/// (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
@Suite struct S3SignerTests {
    static let signer = S3Signer(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func authorization(_ headers: [(String, String)]) -> String { headers.first { $0.0 == "Authorization" }!.1 }

    @Test func getObjectWithARange() {
        let headers = Self.signer.sign(method: "GET", path: "/test.txt", query: [],
                                       headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                       payloadHash: Self.emptyHash, date: Self.date)
        #expect(Self.authorization(headers) == """
            AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
            SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
            Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41
            """)
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func putObjectWithABody() {
        let body = "Welcome to Amazon S3."
        let hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let headers = Self.signer.sign(method: "PUT", path: "/test%24file.text", query: [],
                                       headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                                 ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                       payloadHash: hash, date: Self.date)
        #expect(body.utf8.count == 21)
        #expect(Self.authorization(headers).hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func listObjectsWithAQuery() {
        let headers = Self.signer.sign(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
                                       headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadHash: Self.emptyHash, date: Self.date)
        #expect(Self.authorization(headers).hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func encodingKeepsUnreservedCharactersOnly() {
        #expect(PercentEncoding.encode("a b/c~d") == "a%20b%2Fc~d")
        #expect(PercentEncoding.encode("objects/ab/x.y", keepSlash: true) == "objects/ab/x.y")
    }
}
