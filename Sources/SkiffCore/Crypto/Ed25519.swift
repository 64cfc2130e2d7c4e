import CLibCrypto

/// An Ed25519 public key: 32 bytes.
package struct Ed25519PublicKey: Equatable, Hashable, Sendable {
    package let rawRepresentation: [UInt8]

    package init(rawRepresentation: [UInt8]) throws {
        guard rawRepresentation.count == 32 else { throw CryptoError.invalidKey("Ed25519 public key must be 32 bytes") }
        self.rawRepresentation = rawRepresentation
    }

    /// True only for a valid 64-byte signature of exactly `message` by this key.
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        guard let pkey = rawRepresentation.withUnsafeBufferPointer({
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
        }) else {
            ERR_clear_error()
            return false
        }
        defer { EVP_PKEY_free(pkey) }
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestVerifyInit(md, nil, nil, nil, pkey) == 1 else {
            ERR_clear_error()
            return false
        }
        let rc = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestVerify(md, sig.baseAddress, 64, msg.baseAddress, msg.count)
            }
        }
        ERR_clear_error()
        return rc == 1
    }

    /// The SHA-256 of the key, in hex: a short, stable name for logs and registries.
    package var fingerprint: String { SHA256Hasher.digest(rawRepresentation).hex }
}

/// An Ed25519 signing key, held as its 32-byte seed.
package struct Ed25519PrivateKey: Sendable {
    package let seed: SecretBytes
    package let publicKey: Ed25519PublicKey

    package init(seed: SecretBytes) throws {
        guard seed.count == 32 else { throw CryptoError.invalidKey("Ed25519 seed must be 32 bytes") }
        self.seed = seed
        let pkey = try Self.makePKey(seed)
        defer { EVP_PKEY_free(pkey) }
        publicKey = try Ed25519PublicKey(rawRepresentation: try rawPublicKey(of: pkey))
    }

    package static func generate() -> Ed25519PrivateKey {
        try! Ed25519PrivateKey(seed: .random(count: 32))
    }

    private static func makePKey(_ seed: SecretBytes) throws -> OpaquePointer {
        let pkey = seed.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        guard let pkey else { throw CryptoError.fromLibrary("Ed25519 private key") }
        return pkey
    }

    /// A 64-byte signature of `message` (pure Ed25519, no pre-hash).
    package func signature(for message: [UInt8]) throws -> [UInt8] {
        let pkey = try Self.makePKey(seed)
        defer { EVP_PKEY_free(pkey) }
        guard let md = EVP_MD_CTX_new() else { throw CryptoError.fromLibrary("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestSignInit(md, nil, nil, nil, pkey) == 1 else { throw CryptoError.fromLibrary("Ed25519 sign init") }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        let rc = message.withUnsafeBufferPointer { msg in
            EVP_DigestSign(md, &signature, &length, msg.baseAddress, msg.count)
        }
        guard rc == 1, length == 64 else { throw CryptoError.fromLibrary("Ed25519 sign") }
        return signature
    }
}
