/// The secrets a host needs to write: the chunker key (gear table), the identity key (keyed
/// object identities) and the boundary key (where large directories split into nodes), all
/// derived from one 32-byte master with HKDF-SHA-256.
///
/// Shared by all hosts of a tenant so that they deduplicate against each other. They let a
/// host cut and name chunks; they do not decrypt anything.
package struct WriteSecrets: Sendable {
    package let master: SecretBytes
    package let chunkerKey: SecretBytes
    package let identityKey: SecretBytes
    package let boundaryKey: SecretBytes

    package init(master: SecretBytes) throws {
        guard master.count == 32 else { throw CryptoError.invalidKey("write secret must be 32 bytes") }
        self.master = master
        chunkerKey = try HKDF.subkey(of: master, label: "skiff chunker key v1")
        identityKey = try HKDF.subkey(of: master, label: "skiff identity key v1")
        boundaryKey = try HKDF.subkey(of: master, label: "skiff boundary key v1")
    }

    package static func generate() -> WriteSecrets { try! WriteSecrets(master: .random(count: 32)) }
}
