extension HostCertificate {
    package static let magic: [UInt8] = Array("SKHC".utf8)
    package static let armorLabel = "SKIFF HOST CERTIFICATE"

    /// A host's public certificate with its tenant, for a site administrator to register:
    /// "SKHC" || u8 version (1) || tenant id (16) || certificate.
    package func encoded(tenant: TenantID) -> [UInt8] {
        var writer = ByteWriter(capacity: 160)
        writer.raw(Self.magic)
        writer.u8(1)
        writer.raw(tenant.bytes)
        write(into: &writer)
        return writer.bytes
    }

    package static func decode(_ bytes: [UInt8]) throws -> (TenantID, HostCertificate) {
        var reader = ByteReader(bytes, context: "host certificate")
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("host certificate", "bad magic") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("host certificate", "version") }
        let tenant = try TenantID(bytes: Array(reader.raw(16)))
        let certificate = try read(from: &reader)
        try reader.expectEnd()
        return (tenant, certificate)
    }

    package func armored(tenant: TenantID) -> String {
        KeyArmor.armor(label: Self.armorLabel,
                       headers: [("Tenant", tenant.hex), ("Host", hostName), ("Host-Key", publicKey.fingerprint)],
                       bytes: encoded(tenant: tenant))
    }

    package static func dearmor(_ text: String) throws -> (TenantID, HostCertificate) {
        try decode(try KeyArmor.dearmor(text, label: armorLabel))
    }
}
