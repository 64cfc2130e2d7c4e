import CLibCrypto

/// SHA-256 over contiguous buffers with one reusable libcrypto context.
///
/// Not `Sendable`: each task that hashes owns its own hasher.
package final class SHA256Hasher {
    private let context: OpaquePointer

    package init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Starts a new digest; call `update` then `finish`.
    package func start() {
        guard EVP_DigestInit_ex2(context, FetchedAlgorithms.shared.sha256, nil) == 1 else {
            fatalError("\(CryptoError.fromLibrary("EVP_DigestInit_ex2"))")
        }
    }

    package func update(_ data: UnsafeRawBufferPointer) {
        var rest = data
        while !rest.isEmpty {
            // EVP update calls take an int length: feed huge buffers in pieces.
            let piece = min(rest.count, 1 << 30)
            guard EVP_DigestUpdate(context, rest.baseAddress, piece) == 1 else {
                fatalError("\(CryptoError.fromLibrary("EVP_DigestUpdate"))")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[piece...])
        }
    }

    package func finish() -> Digest256 {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &length) == 1, length == 32 else {
            fatalError("\(CryptoError.fromLibrary("EVP_DigestFinal_ex"))")
        }
        return out.withUnsafeBytes { Digest256($0) }
    }

    package func hash(_ data: UnsafeRawBufferPointer) -> Digest256 {
        start()
        update(data)
        return finish()
    }

    package func hash(_ data: [UInt8]) -> Digest256 {
        data.withUnsafeBytes { hash($0) }
    }

    /// One-shot convenience for cold paths (seals, keys); hot paths keep a hasher.
    package static func digest(_ data: [UInt8]) -> Digest256 {
        SHA256Hasher().hash(data)
    }
}
