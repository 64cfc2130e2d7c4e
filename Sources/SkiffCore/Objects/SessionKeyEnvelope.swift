/// A session's data key, sealed to the tenant's X25519 key (ECIES with HKDF-SHA-256 and the
/// repository AEAD), stored as an object of kind `sessionKey`.
///
/// The header's key field holds the recipient key id (SHA-256 of the tenant's X25519 public
/// key), its identity field the ephemeral public key. The wrapping key is
/// HKDF-SHA-256(ikm: X25519(ephemeral, tenant), salt: ephemeral public || tenant public,
/// info: "skiff session key v1").
package enum SessionKeyEnvelope {
    static let info = Array("skiff session key v1".utf8)

    /// The id written into session key objects for `key`.
    package static func recipientID(_ key: X25519PublicKey) -> Digest256 {
        SHA256Hasher.digest(key.rawRepresentation)
    }

    package static func seal(_ dataKey: SecretBytes, to recipient: X25519PublicKey, aead: AEADAlgorithm) throws -> EncodedObject {
        let ephemeral = X25519PrivateKey.generate()
        let wrappingKey = try wrappingKey(
            shared: try ephemeral.sharedSecret(with: recipient),
            ephemeral: ephemeral.publicKey, recipient: recipient)
        let header = ObjectHeader(
            kind: .sessionKey, aead: aead, compression: .none, children: [],
            keyField: recipientID(recipient),
            identityField: Digest256(bytes: ephemeral.publicKey.rawRepresentation),
            nonce: SecureRandom.bytes(AEADAlgorithm.nonceCount))
        let headerBytes = header.encoded
        var bytes = headerBytes + [UInt8](repeating: 0, count: dataKey.count + AEADAlgorithm.tagCount)
        let cipher = AEADCipher()
        try bytes.withUnsafeMutableBytes { out in
            try headerBytes.withUnsafeBytes { aad in
                try header.nonce.withUnsafeBytes { nonce in
                    try dataKey.withUnsafeBytes { plain in
                        _ = try cipher.seal(
                            aead, key: wrappingKey, nonce: nonce, associatedData: aad, plaintext: plain,
                            into: UnsafeMutableRawBufferPointer(rebasing: out[headerBytes.count...]))
                    }
                }
            }
        }
        let address = ObjectAddress(SHA256Hasher.digest(bytes))
        return EncodedObject(address: address, kind: .sessionKey, identity: nil, bytes: bytes)
    }

    /// Unwraps the data key from a session key object whose address was already checked.
    /// - Throws: `KeyError.wrongTenantKey` when the object was sealed to another key,
    ///   `ObjectError.authenticationFailed` when it was tampered with.
    package static func open(_ bytes: [UInt8], address: ObjectAddress, with key: X25519PrivateKey) throws -> SecretBytes {
        let header: ObjectHeader
        do { header = try ObjectHeader.parse(bytes) } catch let error as FormatError { throw ObjectError.malformed(address, error) }
        guard header.kind == .sessionKey else {
            throw ObjectError.unexpectedKind(address, expected: .sessionKey, actual: header.kind)
        }
        guard header.keyField == recipientID(key.publicKey) else { throw KeyError.wrongTenantKey }
        let sealedCount = bytes.count - header.encodedSize
        guard sealedCount == AEADAlgorithm.keyCount + AEADAlgorithm.tagCount else {
            throw ObjectError.malformed(address, .invalid("session key object", "body is \(sealedCount) bytes"))
        }
        let ephemeral = try X25519PublicKey(rawRepresentation: header.identityField.bytes)
        let wrappingKey: SecretBytes
        do {
            wrappingKey = try self.wrappingKey(shared: try key.sharedSecret(with: ephemeral), ephemeral: ephemeral, recipient: key.publicKey)
        } catch CryptoError.invalidKey {
            throw ObjectError.authenticationFailed(address)
        }
        let cipher = AEADCipher()
        return try SecretBytes(count: AEADAlgorithm.keyCount) { out in
            try bytes.withUnsafeBytes { raw in
                try header.nonce.withUnsafeBytes { nonce in
                    do {
                        _ = try cipher.open(
                            header.aead, key: wrappingKey, nonce: nonce,
                            associatedData: UnsafeRawBufferPointer(rebasing: raw[..<header.encodedSize]),
                            sealed: UnsafeRawBufferPointer(rebasing: raw[header.encodedSize...]),
                            into: out, what: "session key \(address)")
                    } catch CryptoError.authenticationFailed {
                        throw ObjectError.authenticationFailed(address)
                    }
                }
            }
        }
    }

    private static func wrappingKey(shared: SecretBytes, ephemeral: X25519PublicKey, recipient: X25519PublicKey) throws -> SecretBytes {
        try shared.withUnsafeBytes {
            try HKDF.sha256(
                inputKey: $0, salt: ephemeral.rawRepresentation + recipient.rawRepresentation,
                info: info, outputCount: AEADAlgorithm.keyCount)
        }
    }
}
