import CLibCrypto

/// HMAC-SHA-256 with a fixed key and a reusable context.
///
/// Not `Sendable`: each task owns its own instance (see `init(key:)`, which is cheap).
package final class HMACSHA256 {
    private let context: OpaquePointer

    package init(key: SecretBytes) {
        let ctx = key.withUnsafeBytes { raw in
            skiff_hmac_new("SHA256", raw.baseAddress!.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        guard let ctx else { fatalError("\(CryptoError.fromLibrary("HMAC init"))") }
        context = ctx
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// MAC over the concatenation of `parts`.
    package func mac(_ parts: UnsafeRawBufferPointer...) -> Digest256 {
        mac(parts)
    }

    package func mac(_ parts: [UnsafeRawBufferPointer]) -> Digest256 {
        guard skiff_hmac_restart(context) == 1 else { fatalError("\(CryptoError.fromLibrary("HMAC restart"))") }
        for part in parts {
            var rest = part
            while !rest.isEmpty {
                let piece = min(rest.count, 1 << 30)
                guard EVP_MAC_update(context, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), piece) == 1 else {
                    fatalError("\(CryptoError.fromLibrary("EVP_MAC_update"))")
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[piece...])
            }
        }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_final(context, &out, &length, 32) == 1, length == 32 else {
            fatalError("\(CryptoError.fromLibrary("EVP_MAC_final"))")
        }
        return out.withUnsafeBytes { Digest256($0) }
    }

    package func mac(_ data: [UInt8]) -> Digest256 {
        data.withUnsafeBytes { mac($0) }
    }
}
