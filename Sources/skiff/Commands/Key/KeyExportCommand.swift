import ArgumentParser
import SkiffCore

struct KeyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the restore key for safekeeping, or the tenant public key.",
        discussion: "--paper prints numbered, checksummed lines for a printed copy; the passphrase is still needed to use it.")

    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Flag(name: .long, help: "Printable form with per-line checksums.")
    var paper = false
    @Flag(name: .long, help: "Print only the tenant public key (for auditors and sites).")
    var `public` = false

    func validate() throws {
        if paper && `public` { throw ValidationError("--paper and --public exclude each other") }
    }

    func run() throws {
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
