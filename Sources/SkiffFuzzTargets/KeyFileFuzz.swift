import SkiffCore

/// Input: a key file, armored text or raw bytes: host key, tenant public key, restore key (not
/// unwrapped: scrypt is the passphrase's cost, not the parser's), host certificate, and the
/// paper form of a restore key. Raw bytes that decode must re-encode to the same bytes.
enum KeyFileFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var accepted = false
        if let key = try? HostKey.decode(bytes) {
            precondition(key.encoded == bytes, "a host key re-encodes differently")
            accepted = true
        }
        if let key = try? TenantPublicKey.decode(bytes) {
            precondition(key.encoded == bytes, "a tenant public key re-encodes differently")
            accepted = true
        }
        if let key = try? WrappedRestoreKey.decode(bytes) {
            precondition(key.encoded == bytes, "a restore key re-encodes differently")
            accepted = true
        }
        if let (tenant, certificate) = try? HostCertificate.decode(bytes) {
            precondition(certificate.encoded(tenant: tenant) == bytes, "a host certificate re-encodes differently")
            accepted = true
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            if (try? HostKey.dearmor(text)) != nil { accepted = true }
            if (try? TenantPublicKey.dearmor(text)) != nil { accepted = true }
            if (try? WrappedRestoreKey.dearmor(text)) != nil { accepted = true }
            if (try? HostCertificate.dearmor(text)) != nil { accepted = true }
            if let key = try? PaperKey.parse(text) {
                precondition(try! PaperKey.parse(PaperKey.render(key)) == key, "a paper key does not render back")
                accepted = true
            }
        }
        return accepted ? .accepted : .rejected
    }
}
