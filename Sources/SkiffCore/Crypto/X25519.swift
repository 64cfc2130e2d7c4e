import CLibCrypto

/// An X25519 public key: 32 bytes.
package struct X25519PublicKey: Equatable, Hashable, Sendable {
    package let rawRepresentation: [UInt8]

    package init(rawRepresentation: [UInt8]) throws {
        guard rawRepresentation.count == 32 else { throw CryptoError.invalidKey("X25519 public key must be 32 bytes") }
        self.rawRepresentation = rawRepresentation
    }
}

/// An X25519 private key, held as its 32 raw bytes.
package struct X25519PrivateKey: Sendable {
    package let secret: SecretBytes
    package let publicKey: X25519PublicKey

    package init(secret: SecretBytes) throws {
        guard secret.count == 32 else { throw CryptoError.invalidKey("X25519 private key must be 32 bytes") }
        self.secret = secret
        let pkey = try Self.makePKey(secret)
        defer { EVP_PKEY_free(pkey) }
        publicKey = try X25519PublicKey(rawRepresentation: try rawPublicKey(of: pkey))
    }

    package static func generate() -> X25519PrivateKey {
        // Any 32 random bytes are a valid X25519 private key (clamped on use).
        try! X25519PrivateKey(secret: .random(count: 32))
    }

    private static func makePKey(_ secret: SecretBytes) throws -> OpaquePointer {
        let pkey = secret.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        guard let pkey else { throw CryptoError.fromLibrary("X25519 private key") }
        return pkey
    }

    /// The raw X25519 shared secret with `peer`. Rejects an all-zero result (a small-order peer key).
    package func sharedSecret(with peer: X25519PublicKey) throws -> SecretBytes {
        let mine = try Self.makePKey(secret)
        defer { EVP_PKEY_free(mine) }
        guard let theirs = peer.rawRepresentation.withUnsafeBufferPointer({
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress, 32)
        }) else { throw CryptoError.fromLibrary("X25519 public key") }
        defer { EVP_PKEY_free(theirs) }
        guard let ctx = EVP_PKEY_CTX_new(mine, nil) else { throw CryptoError.fromLibrary("X25519 context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, theirs) == 1 else {
            throw CryptoError.fromLibrary("X25519 derive init")
        }
        var length = 32
        let shared = try SecretBytes(count: 32) { out in
            guard EVP_PKEY_derive(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1, length == 32 else {
                throw CryptoError.fromLibrary("X25519 derive")
            }
        }
        let allZero = shared.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }
        guard !allZero else { throw CryptoError.invalidKey("X25519 peer key has small order") }
        return shared
    }
}

func rawPublicKey(of pkey: OpaquePointer) throws -> [UInt8] {
    var length = 32
    var out = [UInt8](repeating: 0, count: 32)
    guard EVP_PKEY_get_raw_public_key(pkey, &out, &length) == 1, length == 32 else {
        throw CryptoError.fromLibrary("raw public key")
    }
    return out
}
