import Foundation
import SkiffCore

/// AWS Signature Version 4 for S3 requests (header-based, `AWS4-HMAC-SHA256`). Pure: no I/O.
/// Checked against AWS's published S3 examples in `S3SignerTests`.
package struct S3Signer: Sendable {
    package var accessKey: String
    package var secretKey: String
    package var sessionToken: String?
    package var region: String
    package var service = "s3"

    package init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256`, the session
    /// token if any, and `Authorization`.
    /// - Parameters:
    ///   - path: the request path exactly as sent (already percent-encoded).
    ///   - query: decoded query parameters.
    ///   - headers: every other header that is sent and must be signed (at least `host`).
    ///   - payloadHash: hex SHA-256 of the body.
    package func sign(method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date)
        -> [(String, String)]
    {
        let amzDate = Self.timestamp(date)
        let day = String(amzDate.prefix(8))
        var signed = headers.map { ($0.0.lowercased(), $0.1.trimmingCharacters(in: .whitespaces)) }
        signed.append(("x-amz-date", amzDate))
        signed.append(("x-amz-content-sha256", payloadHash))
        if let sessionToken { signed.append(("x-amz-security-token", sessionToken)) }
        signed.sort { $0.0 < $1.0 }
        let signedNames = signed.map(\.0).joined(separator: ";")
        let canonicalQuery = query.map { (PercentEncoding.encode($0.0), PercentEncoding.encode($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalRequest = [
            method, path, canonicalQuery, signed.map { "\($0.0):\($0.1)\n" }.joined(), signedNames, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SHA256Hasher.digest(Array(canonicalRequest.utf8)).hex)"
        var key = Self.hmac(Array("AWS4\(secretKey)".utf8), day)
        for part in [region, service, "aws4_request"] { key = Self.hmac(key, part) }
        let signature = Hex.encode(Self.hmac(key, stringToSign))
        var out = signed.filter { $0.0 == "x-amz-date" || $0.0 == "x-amz-content-sha256" || $0.0 == "x-amz-security-token" }
        out.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)"))
        return out
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        let secret = SecretBytes(count: key.count) { buffer in buffer.copyBytes(from: key) }
        let mac = HMACSHA256(key: secret)
        return Array(message.utf8).withUnsafeBytes { mac.mac($0) }.bytes
    }

    /// `20130524T000000Z`.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
