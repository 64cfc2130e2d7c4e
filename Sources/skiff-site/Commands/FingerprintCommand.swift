import ArgumentParser
import SkiffSite
import SkiffSystem

struct FingerprintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint", abstract: "Print the SHA-256 fingerprint of the site's TLS certificate (what hosts pin).")

    @OptionGroup var data: DataOptions

    func run() throws {
        let path = data.layout.certificate
        guard FileIO.exists(path) else { throw SiteCommandFailure.noData("no certificate at \(path): run skiff-site init") }
        guard let fingerprint = SelfSignedCertificate.fingerprint(pem: String(decoding: try FileIO.readFile(path), as: UTF8.self)) else {
            throw SiteCommandFailure.key("\(path) holds no certificate")
        }
        print("sha256:\(fingerprint)")
    }
}
