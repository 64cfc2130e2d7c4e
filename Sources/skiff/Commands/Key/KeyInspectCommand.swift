import ArgumentParser
import SkiffCore

struct KeyInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a key file is, whose it is and its fingerprints (no passphrase needed).")

    @Argument(help: ArgumentHelp("A restore key, host key or tenant public key file.", valueName: "FILE"))
    var file: String
    @OptionGroup var output: OutputOptions

    struct Description: Encodable {
        var kind: String
        var tenant: String
        var tenantFingerprint: String
        var aead: String
        var chunker: ChunkerParameters
        var pagedChunkSize: Int
        var host: String?
        var hostKeyFingerprint: String?
        var hostCertificateIssued: Int64?
        var passphraseProtection: String?
    }

    func run() throws {
        let text = try KeyFiles.readText(file, what: "key file")
        let tenant = try KeyFiles.tenantPublicKey(path: file)
        var description = Description(
            kind: (KeyArmor.label(of: text) ?? "unknown").lowercased(), tenant: tenant.tenant.hex, tenantFingerprint: tenant.fingerprint,
            aead: tenant.config.aead.name, chunker: tenant.config.chunker, pagedChunkSize: tenant.config.pagedChunkSize)
        switch KeyArmor.label(of: text) {
        case HostKey.armorLabel:
            let host = try HostKey.dearmor(text)
            description.host = host.hostName
            description.hostKeyFingerprint = host.signingKey.publicKey.fingerprint
            description.hostCertificateIssued = host.certificate.issuedAt
        case WrappedRestoreKey.armorLabel:
            let wrapped = try WrappedRestoreKey.dearmor(text)
            description.passphraseProtection = "scrypt N=2^\(wrapped.scrypt.logN) r=\(wrapped.scrypt.r) p=\(wrapped.scrypt.p), \(tenant.config.aead.name)"
        default:
            break
        }
        if output.json {
            try JSONOutput.print(description)
            return
        }
        print("kind:        \(description.kind)")
        print("tenant:      \(description.tenant)")
        print("fingerprint: \(description.tenantFingerprint)")
        print("aead:        \(description.aead)")
        print("chunking:    min \(tenant.config.chunker.minSize), average \(tenant.config.chunker.averageSize), max \(tenant.config.chunker.maxSize); databases \(tenant.config.pagedChunkSize)")
        if let host = description.host { print("host:        \(host)") }
        if let fingerprint = description.hostKeyFingerprint { print("host key:    \(fingerprint)") }
        if let protection = description.passphraseProtection { print("protection:  \(protection)") }
    }
}
