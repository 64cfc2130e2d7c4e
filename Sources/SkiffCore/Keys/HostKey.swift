/// Everything a host holds: its signing key and certificate, the tenant's public key (to
/// seal session keys to), and the write secrets. Nothing in it decrypts stored data.
///
/// Stored unencrypted (mode 0600) because the agent runs unattended.
/// Layout: "SKHK" || u8 version 1 || tenant public key || host certificate ||
/// Ed25519 seed (32) || write master (32).
package struct HostKey: Sendable {
    package static let magic: [UInt8] = Array("SKHK".utf8)
    package static let armorLabel = "SKIFF HOST KEY"

    package let tenant: TenantPublicKey
    package let signingKey: Ed25519PrivateKey
    package let certificate: HostCertificate
    package let writeSecrets: WriteSecrets

    package init(tenant: TenantPublicKey, signingKey: Ed25519PrivateKey, certificate: HostCertificate, writeSecrets: WriteSecrets) {
        self.tenant = tenant
        self.signingKey = signingKey
        self.certificate = certificate
        self.writeSecrets = writeSecrets
    }

    package var hostName: String { certificate.hostName }
    package var config: RepositoryConfig { tenant.config }

    package var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 320)
        writer.raw(Self.magic)
        writer.u8(1)
        tenant.write(into: &writer)
        certificate.write(into: &writer)
        signingKey.seed.withUnsafeBytes { writer.raw($0) }
        writeSecrets.master.withUnsafeBytes { writer.raw($0) }
        return writer.bytes
    }

    /// Decodes and checks that the certificate matches the signing key and the tenant.
    package static func decode(_ bytes: [UInt8]) throws -> HostKey {
        var reader = ByteReader(bytes, context: "host key")
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("host key", "bad magic") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("host key", "version") }
        let tenant = try TenantPublicKey.read(from: &reader)
        let certificate = try HostCertificate.read(from: &reader)
        let signing = try Ed25519PrivateKey(seed: SecretBytes(try reader.raw(32)))
        let secrets = try WriteSecrets(master: SecretBytes(try reader.raw(32)))
        try reader.expectEnd()
        guard signing.publicKey == certificate.publicKey else {
            throw KeyError.invalidHostCertificate("certificate is for another key than the host's signing key")
        }
        try certificate.verify(by: tenant)
        return HostKey(tenant: tenant, signingKey: signing, certificate: certificate, writeSecrets: secrets)
    }

    package var armored: String {
        KeyArmor.armor(label: Self.armorLabel,
                       headers: [("Tenant", tenant.tenant.hex), ("Host", hostName), ("Host-Key", signingKey.publicKey.fingerprint)],
                       bytes: encoded)
    }

    package static func dearmor(_ text: String) throws -> HostKey {
        try decode(try KeyArmor.dearmor(text, label: armorLabel))
    }
}
