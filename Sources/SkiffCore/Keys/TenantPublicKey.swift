/// What anyone may know about a tenant: its repository config, the X25519 key that session
/// keys are sealed to, and the Ed25519 key that certifies its hosts.
///
/// Auditors pin this (or its fingerprint) to know which hosts may seal snapshots.
package struct TenantPublicKey: Equatable, Sendable {
    package static let magic: [UInt8] = Array("SKTP".utf8)
    package static let armorLabel = "SKIFF TENANT PUBLIC KEY"

    package let config: RepositoryConfig
    package let encryptionKey: X25519PublicKey
    package let certificationKey: Ed25519PublicKey

    package init(config: RepositoryConfig, encryptionKey: X25519PublicKey, certificationKey: Ed25519PublicKey) {
        self.config = config
        self.encryptionKey = encryptionKey
        self.certificationKey = certificationKey
    }

    package var tenant: TenantID { config.tenant }

    /// SHA-256 over the encoding: what administrators compare when pinning.
    package var fingerprint: String { SHA256Hasher.digest(encoded).hex }

    package var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        write(into: &writer)
        return writer.bytes
    }

    package func write(into writer: inout ByteWriter) {
        writer.raw(Self.magic)
        writer.u8(1)
        config.write(into: &writer)
        writer.raw(encryptionKey.rawRepresentation)
        writer.raw(certificationKey.rawRepresentation)
    }

    package static func read(from reader: inout ByteReader) throws -> TenantPublicKey {
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("tenant public key", "bad magic") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("tenant public key", "version") }
        let config = try RepositoryConfig.read(from: &reader)
        return TenantPublicKey(
            config: config,
            encryptionKey: try X25519PublicKey(rawRepresentation: Array(reader.raw(32))),
            certificationKey: try Ed25519PublicKey(rawRepresentation: Array(reader.raw(32))))
    }

    package static func decode(_ bytes: [UInt8]) throws -> TenantPublicKey {
        var reader = ByteReader(bytes, context: "tenant public key")
        let key = try read(from: &reader)
        try reader.expectEnd()
        return key
    }

    package var armored: String {
        KeyArmor.armor(label: Self.armorLabel, headers: [("Tenant", tenant.hex), ("Fingerprint", fingerprint)], bytes: encoded)
    }

    package static func dearmor(_ text: String) throws -> TenantPublicKey {
        try decode(try KeyArmor.dearmor(text, label: armorLabel))
    }
}
