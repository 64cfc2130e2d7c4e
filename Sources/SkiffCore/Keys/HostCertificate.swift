/// The tenant's statement that `publicKey` belongs to host `hostName`: an Ed25519 signature
/// by the tenant's certification key. Carried in every seal, so a verifier needs only the
/// tenant public key to know whether a seal's signer is one of the tenant's hosts.
package struct HostCertificate: Equatable, Sendable {
    package let hostName: String
    package let publicKey: Ed25519PublicKey
    /// Seconds since the Unix epoch.
    package let issuedAt: Int64
    package let signature: [UInt8]

    static let domain = Array("skiff host certificate v1\0".utf8)

    package static func signedMessage(tenant: TenantID, hostName: String, publicKey: Ed25519PublicKey, issuedAt: Int64) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.raw(domain)
        writer.raw(tenant.bytes)
        writer.lengthPrefixed(Array(hostName.utf8))
        writer.raw(publicKey.rawRepresentation)
        writer.i64(issuedAt)
        return writer.bytes
    }

    package static func issue(
        by certificationKey: Ed25519PrivateKey, tenant: TenantID, hostName: String, publicKey: Ed25519PublicKey, issuedAt: Int64
    ) throws -> HostCertificate {
        try HostName.validate(hostName)
        let message = signedMessage(tenant: tenant, hostName: hostName, publicKey: publicKey, issuedAt: issuedAt)
        return HostCertificate(hostName: hostName, publicKey: publicKey, issuedAt: issuedAt,
                               signature: try certificationKey.signature(for: message))
    }

    package init(hostName: String, publicKey: Ed25519PublicKey, issuedAt: Int64, signature: [UInt8]) {
        self.hostName = hostName
        self.publicKey = publicKey
        self.issuedAt = issuedAt
        self.signature = signature
    }

    /// Throws `KeyError.invalidHostCertificate` unless `tenant` certified this host key.
    package func verify(by tenant: TenantPublicKey) throws {
        let message = Self.signedMessage(tenant: tenant.tenant, hostName: hostName, publicKey: publicKey, issuedAt: issuedAt)
        guard tenant.certificationKey.isValidSignature(signature, for: message) else {
            throw KeyError.invalidHostCertificate("host \(hostName) key \(publicKey.fingerprint.prefix(16)) is not certified by tenant \(tenant.tenant)")
        }
    }

    package func write(into writer: inout ByteWriter) {
        writer.lengthPrefixed(Array(hostName.utf8))
        writer.raw(publicKey.rawRepresentation)
        writer.i64(issuedAt)
        writer.raw(signature)
    }

    package static func read(from reader: inout ByteReader) throws -> HostCertificate {
        let nameBytes = try reader.lengthPrefixed(limit: 64)
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw FormatError.invalid("host certificate", "host name is not UTF-8")
        }
        do { try HostName.validate(name) } catch { throw FormatError.invalid("host certificate", "bad host name") }
        return HostCertificate(
            hostName: name,
            publicKey: try Ed25519PublicKey(rawRepresentation: Array(reader.raw(32))),
            issuedAt: try reader.i64(),
            signature: Array(try reader.raw(64)))
    }
}
