import SkiffCore

/// Fixed keys shared by the fuzz targets and the seed generator, so that seeds made with them
/// pass the key checks (recipient, AEAD, identity) and fuzzing starts behind them. They are
/// public test values: never use them for anything else.
package enum FuzzKeys {
    static func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8($0) } }

    /// The tenant whose X25519 key opens the session key objects of the seeds.
    package static let restoreKey: RestoreKey = {
        let decryption = try! X25519PrivateKey(secret: SecretBytes(bytes(0..<32)))
        let certification = try! Ed25519PrivateKey(seed: SecretBytes(bytes(32..<64)))
        let config = RepositoryConfig(tenant: try! TenantID(bytes: bytes(100..<116)))
        return try! RestoreKey(
            publicKey: TenantPublicKey(config: config, encryptionKey: decryption.publicKey, certificationKey: certification.publicKey),
            decryptionKey: decryption, certificationKey: certification, writeSecrets: try! WriteSecrets(master: SecretBytes(bytes(64..<96))))
    }()

    /// The data key that encrypts the bodies of `sealObject`'s objects.
    package static let dataKey = SecretBytes(bytes(140..<172))

    /// The identity key of `restoreKey` (objects' keyed identities).
    package static var identityKey: SecretBytes { restoreKey.writeSecrets.identityKey }

    /// A made-up child address, the `index`-th, for bodies whose children are not in the input.
    package static func child(_ index: Int) -> ObjectAddress {
        ObjectAddress(Digest256(bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 31) + [0xc5]))
    }

    /// An object whose body `payload` (as stored inside the AEAD: for `.lz4`, the u32 length
    /// and the LZ4 block) is sealed under `dataKey`, with a fixed nonce and the identity given.
    package static func sealObject(
        kind: ObjectKind, aead: AEADAlgorithm, compression: CompressionAlgorithm, children: [ObjectAddress],
        identity: Digest256 = .zero, payload: [UInt8]
    ) throws -> [UInt8] {
        let header = ObjectHeader(
            kind: kind, aead: aead, compression: compression, children: children, keyField: Digest256(bytes: bytes(200..<232)),
            identityField: identity, nonce: bytes(1..<13))
        let headerBytes = header.encoded
        var object = headerBytes + [UInt8](repeating: 0, count: payload.count + AEADAlgorithm.tagCount)
        try object.withUnsafeMutableBytes { out in
            try headerBytes.withUnsafeBytes { aad in
                try header.nonce.withUnsafeBytes { nonce in
                    try payload.withUnsafeBytes { plain in
                        _ = try AEADCipher().seal(aead, key: dataKey, nonce: nonce, associatedData: aad, plaintext: plain,
                                                  into: UnsafeMutableRawBufferPointer(rebasing: out[headerBytes.count...]))
                    }
                }
            }
        }
        return object
    }
}
