import ArgumentParser
import SkiffCore

struct KeyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the restore key for safekeeping, the tenant public key, or a host's certificate.",
        discussion: """
            --paper prints numbered, checksummed lines for a printed copy; the passphrase is still needed to use it.
            --host-certificate prints the public certificate of a host key (no secret), for `skiff-site host add`.
            """)

    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Flag(name: .long, help: "Printable form with per-line checksums.")
    var paper = false
    @Flag(name: .long, help: "Print only the tenant public key (for auditors and sites).")
    var `public` = false
    @Flag(name: .long, help: "Print the certificate of the host key given with --host-key (for site registration).")
    var hostCertificate = false
    @Option(name: .long, help: ArgumentHelp("Host key file, for --host-certificate.", valueName: "FILE"))
    var hostKey: String?

    func validate() throws {
        if [paper, `public`, hostCertificate].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --paper, --public and --host-certificate")
        }
    }

    func run() throws {
        if hostCertificate {
            let key = try KeyFiles.hostKey(hostKey)
            print(key.certificate.armored(tenant: key.tenant.tenant), terminator: "")
            return
        }
        let wrapped = try KeyFiles.wrappedRestoreKey(restoreKey)
        if `public` {
            print(wrapped.publicKey.armored, terminator: "")
        } else if paper {
            print(PaperKey.render(wrapped), terminator: "")
        } else {
            print(wrapped.armored, terminator: "")
        }
    }
}
