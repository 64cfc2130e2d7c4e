import ArgumentParser
import SkiffCore
import SkiffSystem

struct KeyPasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change the passphrase of a restore key, or its scrypt cost (the key itself does not change).")

    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the current passphrase from this file.", valueName: "FILE"))
    var passphraseFile: String?
    @Option(name: .long, help: ArgumentHelp("Read the new passphrase from this file.", valueName: "FILE"))
    var newPassphraseFile: String?
    @Option(name: .long, help: ArgumentHelp("scrypt cost of the new wrapping as log2(N), 10 to 22 (default: the key's current cost).", valueName: "N"))
    var kdfLogN: UInt8?

    func run() throws {
        guard let path = KeyFiles.restoreKeyPath(restoreKey) else {
            throw CommandFailure(.keyProblem, "give --restore-key FILE or set SKIFF_RESTORE_KEY")
        }
        var parameters: ScryptParameters?
        if let kdfLogN {
            parameters = ScryptParameters(logN: kdfLogN)
            do { try parameters!.validate() } catch { throw CommandFailure(.usage, "--kdf-log-n must be 10 to 22, not \(kdfLogN)") }
        }
        let wrapped = try KeyFiles.wrappedRestoreKey(path)
        let key = try wrapped.unwrap(passphrase: try PassphraseSource(file: passphraseFile).read(prompt: "Current passphrase: "))
        let fresh = try PassphraseSource(file: newPassphraseFile).read(prompt: "New passphrase: ", confirm: true)
        let rewrapped = try key.wrapped(passphrase: fresh, parameters: parameters ?? wrapped.scrypt)
        do {
            try FileIO.writeFileAtomically(RawPath(path), Array(rewrapped.armored.utf8), mode: 0o600)
        } catch let error as SystemError {
            throw CommandFailure(.failure, "cannot write \(path): \(error.message)")
        }
        print("passphrase changed for the restore key of tenant \(key.tenant)")
    }
}
