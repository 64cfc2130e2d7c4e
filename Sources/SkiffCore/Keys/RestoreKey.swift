/// The tenant's secret key, held by administrators and kept off the hosts: it decrypts
/// session keys (X25519), certifies hosts (Ed25519) and holds the write secrets.
///
/// At rest it is always wrapped under a passphrase (see `WrappedRestoreKey`).
package struct RestoreKey: Sendable {
    package let publicKey: TenantPublicKey
    package let decryptionKey: X25519PrivateKey
    package let certificationKey: Ed25519PrivateKey
    package let writeSecrets: WriteSecrets

    package init(publicKey: TenantPublicKey, decryptionKey: X25519PrivateKey, certificationKey: Ed25519PrivateKey, writeSecrets: WriteSecrets) throws {
        guard decryptionKey.publicKey == publicKey.encryptionKey, certificationKey.publicKey == publicKey.certificationKey else {
            throw CryptoError.invalidKey("restore key secrets do not match its public keys")
        }
        self.publicKey = publicKey
        self.decryptionKey = decryptionKey
        self.certificationKey = certificationKey
        self.writeSecrets = writeSecrets
    }

    /// A new tenant with fresh keys.
    package static func generate(config: RepositoryConfig) throws -> RestoreKey {
        try config.validate()
        let decryption = X25519PrivateKey.generate()
        let certification = Ed25519PrivateKey.generate()
        return try RestoreKey(
            publicKey: TenantPublicKey(config: config, encryptionKey: decryption.publicKey, certificationKey: certification.publicKey),
            decryptionKey: decryption, certificationKey: certification, writeSecrets: .generate())
    }

    package var tenant: TenantID { publicKey.tenant }

    /// A new host key for `hostName`, certified by this tenant.
    package func issueHostKey(hostName: String, issuedAt: Int64) throws -> HostKey {
        let signing = Ed25519PrivateKey.generate()
        let certificate = try HostCertificate.issue(
            by: certificationKey, tenant: tenant, hostName: hostName, publicKey: signing.publicKey, issuedAt: issuedAt)
        return HostKey(tenant: publicKey, signingKey: signing, certificate: certificate, writeSecrets: writeSecrets)
    }

    /// The secret part in its sealed layout: X25519 private || Ed25519 seed || write master.
    var secretPlaintext: SecretBytes {
        SecretBytes(decryptionKey.secret.copiedBytes + certificationKey.seed.copiedBytes + writeSecrets.master.copiedBytes)
    }

    /// Wraps the key under `passphrase` with scrypt and the repository AEAD.
    package func wrapped(passphrase: [UInt8], parameters: ScryptParameters = .standard) throws -> WrappedRestoreKey {
        let salt = SecureRandom.bytes(16)
        let nonce = SecureRandom.bytes(AEADAlgorithm.nonceCount)
        var wrapped = WrappedRestoreKey(publicKey: publicKey, scrypt: parameters, salt: salt, nonce: nonce, sealedSecrets: [])
        let kek = try Scrypt.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        let aad = wrapped.associatedData
        let plain = secretPlaintext
        var sealed = [UInt8](repeating: 0, count: plain.count + AEADAlgorithm.tagCount)
        try sealed.withUnsafeMutableBytes { out in
            try aad.withUnsafeBytes { aadPtr in
                try nonce.withUnsafeBytes { noncePtr in
                    try plain.withUnsafeBytes { plainPtr in
                        _ = try AEADCipher().seal(publicKey.config.aead, key: kek, nonce: noncePtr, associatedData: aadPtr,
                                                  plaintext: plainPtr, into: out)
                    }
                }
            }
        }
        wrapped.sealedSecrets = sealed
        return wrapped
    }
}

/// A restore key at rest: public part in the clear, secrets sealed under
/// scrypt(passphrase) with the repository's AEAD. The public part is the associated data.
///
/// Layout: "SKRK" || u8 version 1 || tenant public key || u8 KDF (1 = scrypt) || u8 logN ||
/// varint r || varint p || salt (16) || nonce (12) || sealed secrets (96 + 16).
package struct WrappedRestoreKey: Equatable, Sendable {
    package static let magic: [UInt8] = Array("SKRK".utf8)
    package static let armorLabel = "SKIFF RESTORE KEY"
    static let kdfScrypt: UInt8 = 1
    static let secretsCount = 96

    package let publicKey: TenantPublicKey
    package let scrypt: ScryptParameters
    package let salt: [UInt8]
    package let nonce: [UInt8]
    package var sealedSecrets: [UInt8]

    var associatedData: [UInt8] {
        var writer = ByteWriter(capacity: 200)
        writePublicPart(into: &writer)
        return writer.bytes
    }

    private func writePublicPart(into writer: inout ByteWriter) {
        writer.raw(Self.magic)
        writer.u8(1)
        publicKey.write(into: &writer)
        writer.u8(Self.kdfScrypt)
        writer.u8(scrypt.logN)
        writer.varint(UInt64(scrypt.r))
        writer.varint(UInt64(scrypt.p))
        writer.raw(salt)
        writer.raw(nonce)
    }

    package var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 320)
        writePublicPart(into: &writer)
        writer.raw(sealedSecrets)
        return writer.bytes
    }

    package static func decode(_ bytes: [UInt8]) throws -> WrappedRestoreKey {
        var reader = ByteReader(bytes, context: "restore key")
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("restore key", "bad magic") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("restore key", "version") }
        let publicKey = try TenantPublicKey.read(from: &reader)
        guard try reader.u8() == kdfScrypt else { throw FormatError.unsupported("restore key", "KDF") }
        let parameters = ScryptParameters(logN: try reader.u8(), r: UInt32(try reader.count(limit: 32)), p: UInt32(try reader.count(limit: 16)))
        let salt = Array(try reader.raw(16))
        let nonce = Array(try reader.raw(AEADAlgorithm.nonceCount))
        let sealed = Array(try reader.raw(secretsCount + AEADAlgorithm.tagCount))
        try reader.expectEnd()
        return WrappedRestoreKey(publicKey: publicKey, scrypt: parameters, salt: salt, nonce: nonce, sealedSecrets: sealed)
    }

    package var tenant: TenantID { publicKey.tenant }

    /// Opens the key. Throws `KeyError.wrongPassphrase` when the passphrase is wrong (or the
    /// file was altered: the two cannot be told apart, by design).
    package func unwrap(passphrase: [UInt8]) throws -> RestoreKey {
        let kek = try Scrypt.deriveKey(passphrase: passphrase, salt: salt, parameters: scrypt)
        let aad = associatedData
        let secrets = try SecretBytes(count: Self.secretsCount) { out in
            try aad.withUnsafeBytes { aadPtr in
                try nonce.withUnsafeBytes { noncePtr in
                    try sealedSecrets.withUnsafeBytes { sealedPtr in
                        do {
                            _ = try AEADCipher().open(publicKey.config.aead, key: kek, nonce: noncePtr, associatedData: aadPtr,
                                                      sealed: sealedPtr, into: out, what: "restore key")
                        } catch CryptoError.authenticationFailed {
                            throw KeyError.wrongPassphrase
                        }
                    }
                }
            }
        }
        let all = secrets.copiedBytes
        return try RestoreKey(
            publicKey: publicKey,
            decryptionKey: X25519PrivateKey(secret: SecretBytes(all[0..<32])),
            certificationKey: Ed25519PrivateKey(seed: SecretBytes(all[32..<64])),
            writeSecrets: WriteSecrets(master: SecretBytes(all[64..<96])))
    }

    package var armored: String {
        KeyArmor.armor(label: Self.armorLabel,
                       headers: [("Tenant", tenant.hex), ("Fingerprint", publicKey.fingerprint), ("Protection", "scrypt logN=\(scrypt.logN) r=\(scrypt.r) p=\(scrypt.p)")],
                       bytes: encoded)
    }

    package static func dearmor(_ text: String) throws -> WrappedRestoreKey {
        try decode(try KeyArmor.dearmor(text, label: armorLabel))
    }
}
