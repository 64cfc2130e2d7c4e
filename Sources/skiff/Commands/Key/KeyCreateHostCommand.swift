import ArgumentParser
import Foundation
import SkiffCore

struct KeyCreateHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-host",
        abstract: "Issue a host key certified by the tenant (needs the restore key and its passphrase).")

    @Option(name: .long, help: "The host's name (letters, digits, '.', '_', '-').")
    var host: String
    @Option(name: .long, help: ArgumentHelp("Where to write the host key.", valueName: "FILE"))
    var out: String
    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() throws {
        let key = try KeyFiles.restoreKey(restoreKey, passphrase: PassphraseSource(file: passphraseFile))
        let hostKey = try key.issueHostKey(hostName: host, issuedAt: Int64(Date().timeIntervalSince1970))
        try KeyFiles.writeNew(hostKey.armored, to: out)
        print("host key for \(host) written to \(out)")
        print("host signing key fingerprint \(hostKey.signingKey.publicKey.fingerprint)")
    }
}
