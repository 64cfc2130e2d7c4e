import CSkiffTLS
import SkiffCore

/// A self-signed TLS server certificate for a site that has none from a CA.
package struct SelfSignedCertificate: Sendable {
    package var certificatePEM: String
    package var privateKeyPEM: String

    /// A new ECDSA P-256 key and certificate for `commonName`, valid for `alternativeNames`
    /// ("DNS:site-a.example", "IP:127.0.0.1") for `days` days.
    package static func make(commonName: String, alternativeNames: [String], days: Int = 3650) throws -> SelfSignedCertificate {
        var certificate: UnsafeMutablePointer<CChar>?
        var key: UnsafeMutablePointer<CChar>?
        var error = [CChar](repeating: 0, count: 512)
        let ok = skiff_tls_make_self_signed(commonName, alternativeNames.joined(separator: ","), Int32(days), &certificate, &key, &error, error.count)
        defer {
            skiff_tls_free(certificate)
            skiff_tls_free(key)
        }
        guard ok == 1, let certificate, let key else {
            throw CryptoError.library("self-signed certificate: \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        return SelfSignedCertificate(certificatePEM: String(cString: certificate), privateKeyPEM: String(cString: key))
    }

    /// SHA-256 of the DER encoding of the first certificate in `pem`, in hex: what hosts pin.
    package static func fingerprint(pem: String) -> String? {
        var digest = [UInt8](repeating: 0, count: 32)
        guard skiff_tls_certificate_fingerprint(pem, &digest) == 1 else { return nil }
        return Hex.encode(digest)
    }
}
