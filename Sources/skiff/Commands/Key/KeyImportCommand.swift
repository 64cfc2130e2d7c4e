import ArgumentParser
import SkiffCore

struct KeyImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Rebuild a restore key file from its paper copy (typed lines).",
        discussion: "A mistyped line is named by its number; the key is checked with the passphrase before it is written.")

    @Option(name: .long, help: ArgumentHelp("File with the typed paper key lines.", valueName: "FILE"))
    var paper: String
    @Option(name: .long, help: ArgumentHelp("Where to write the restore key.", valueName: "FILE"))
    var out: String
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() throws {
        let wrapped = try PaperKey.parse(try KeyFiles.readText(paper, what: "paper key"))
        _ = try wrapped.unwrap(passphrase: try PassphraseSource(file: passphraseFile).read(prompt: "Passphrase for the restore key: "))
        try KeyFiles.writeNew(wrapped.armored, to: out)
        print("restore key of tenant \(wrapped.tenant) written to \(out)")
    }
}
