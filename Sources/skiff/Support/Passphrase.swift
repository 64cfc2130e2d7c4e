import Glibc
import SkiffSystem

/// Where a passphrase comes from: `--passphrase-file`, the SKIFF_PASSPHRASE environment
/// variable, or the terminal (without echo).
struct PassphraseSource {
    var file: String?

    func read(prompt: String, confirm: Bool = false) throws -> [UInt8] {
        if let file {
            let bytes: [UInt8]
            do { bytes = try FileIO.readFile(RawPath(file), limit: 4096) } catch let error as SystemError {
                throw CommandFailure(.keyProblem, "cannot read the passphrase file: \(error)")
            }
            let line = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).first.map(Array.init) ?? []
            guard !line.isEmpty else { throw CommandFailure(.keyProblem, "passphrase file \(file) is empty") }
            return line
        }
        if let value = getenv("SKIFF_PASSPHRASE") {
            let text = String(cString: value)
            guard !text.isEmpty else { throw CommandFailure(.keyProblem, "SKIFF_PASSPHRASE is empty") }
            return Array(text.utf8)
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CommandFailure(.keyProblem, "no passphrase: give --passphrase-file FILE or set SKIFF_PASSPHRASE (standard input is not a terminal)")
        }
        let first = try Self.readHidden(prompt)
        guard !first.isEmpty else { throw CommandFailure(.keyProblem, "empty passphrase") }
        if confirm {
            guard try Self.readHidden("Repeat passphrase: ") == first else {
                throw CommandFailure(.keyProblem, "the passphrases do not match")
            }
        }
        return first
    }

    private static func readHidden(_ prompt: String) throws -> [UInt8] {
        FileHandleOutput.standardError(prompt)
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
            FileHandleOutput.standardError("\n")
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(STDIN_FILENO, &byte, 1) == 1, byte != 0x0a { line.append(byte) }
        return line
    }
}
