import ArgumentParser
import Foundation
import SkiffSite
import SkiffSystem

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a site's data folder and its TLS certificate.",
        discussion: """
            Without --certificate and --key, creates a self-signed certificate for the given names and
            prints its SHA-256 fingerprint: hosts pin it (`fingerprint:` in their configuration).
            """)

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: ArgumentHelp("A DNS name or IP address the site answers on (repeatable; default: localhost, 127.0.0.1 and this machine's name).", valueName: "NAME"))
    var name: [String] = []
    @Option(name: .long, help: ArgumentHelp("Use this certificate (PEM) instead of a self-signed one.", valueName: "FILE"))
    var certificate: String?
    @Option(name: .long, help: ArgumentHelp("The private key (PEM) of --certificate.", valueName: "FILE"))
    var key: String?

    func validate() throws {
        if (certificate == nil) != (key == nil) { throw ValidationError("give both --certificate and --key, or neither") }
    }

    func run() throws {
        let folder = data.folder
        try FileIO.makeDirectories(folder.appending("tenants"), mode: 0o700)
        try FileIO.makeDirectories(folder.appending("tls"), mode: 0o700)
        _ = try SiteRegistry(path: folder.appending("site.sqlite").description)
        let certificatePath = folder.appending("tls/certificate.pem")
        let keyPath = folder.appending("tls/key.pem")
        if let certificate, let key {
            try FileIO.writeFileAtomically(certificatePath, try FileIO.readFile(RawPath(certificate)), mode: 0o644)
            try FileIO.writeFileAtomically(keyPath, try FileIO.readFile(RawPath(key)), mode: 0o600)
        } else if !FileIO.exists(certificatePath) {
            var names = name
            if names.isEmpty {
                names = ["localhost", "127.0.0.1", ProcessInfo.processInfo.hostName].filter { !$0.isEmpty }
            }
            let alternatives = names.map { $0.split(separator: ".").count == 4 && $0.allSatisfy { $0.isNumber || $0 == "." } ? "IP:\($0)" : "DNS:\($0)" }
            let generated = try SelfSignedCertificate.make(commonName: names.first ?? "skiff-site", alternativeNames: alternatives)
            try FileIO.writeFileAtomically(keyPath, Array(generated.privateKeyPEM.utf8), mode: 0o600)
            try FileIO.writeFileAtomically(certificatePath, Array(generated.certificatePEM.utf8), mode: 0o644)
        }
        let pem = String(decoding: try FileIO.readFile(certificatePath), as: UTF8.self)
        guard let fingerprint = SelfSignedCertificate.fingerprint(pem: pem) else {
            throw SiteCommandFailure.key("\(certificatePath) holds no certificate")
        }
        print("site data folder \(folder) is ready")
        print("certificate \(certificatePath)")
        print("fingerprint sha256:\(fingerprint)")
        print("next: skiff-site tenant add NAME --key TENANT.pub, then skiff-site token create ...")
    }
}
