/// A printable form of a restore key for a safe or a vault: 16 bytes per numbered line in
/// hex, each line with its own 4-digit checksum so a typing mistake is found at its line,
/// and a closing line with a checksum of the whole key.
///
/// The key stays wrapped under its passphrase: the paper copy alone does not decrypt.
///
///     SKIFF RESTORE KEY (paper) tenant 8c1f...
///     01: 534b 524b 0153 4b54 5001 018c 1f2a 44de - 9c1e
///     ...
///     total: 3f01a9c2
package enum PaperKey {
    static let bytesPerLine = 16

    package static func render(_ key: WrappedRestoreKey) -> String {
        let bytes = key.encoded
        var lines = ["SKIFF RESTORE KEY (paper) tenant \(key.tenant.hex)",
                     "Type the lines back with `skiff key import --paper`. The passphrase is still needed."]
        var offset = 0
        var number = 1
        while offset < bytes.count {
            let piece = Array(bytes[offset..<min(offset + bytesPerLine, bytes.count)])
            var groups: [String] = []
            var i = 0
            while i < piece.count {
                groups.append(Hex.encode(piece[i..<min(i + 2, piece.count)]))
                i += 2
            }
            lines.append(String(format2(number)) + ": " + groups.joined(separator: " ") + " - " + lineChecksum(number, piece))
            offset += bytesPerLine
            number += 1
        }
        lines.append("total: " + String(SHA256Hasher.digest(bytes).hex.prefix(8)))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads typed-back lines ("NN: hex ... - cksm") and the closing "total:" line.
    /// Throws `KeyError.paperKeyLine` naming the first bad line.
    package static func parse(_ text: String) throws -> WrappedRestoreKey {
        var bytes: [UInt8] = []
        var expectedNumber = 1
        var total: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces).lowercased()
            if line.hasPrefix("total:") {
                total = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":"), let number = Int(line[..<colon]) else { continue }
            guard number == expectedNumber else {
                throw KeyError.paperKeyLine(number, "expected line \(expectedNumber) here")
            }
            let rest = line[line.index(after: colon)...]
            let parts = rest.split(separator: "-", maxSplits: 1)
            guard parts.count == 2 else { throw KeyError.paperKeyLine(number, "missing ' - checksum'") }
            let hex = parts[0].filter { !$0.isWhitespace }
            guard let piece = Hex.decode(hex), !piece.isEmpty else { throw KeyError.paperKeyLine(number, "not hexadecimal") }
            guard lineChecksum(number, piece) == parts[1].trimmingCharacters(in: .whitespaces) else {
                throw KeyError.paperKeyLine(number, "checksum does not match: a digit was mistyped")
            }
            bytes += piece
            expectedNumber += 1
        }
        guard !bytes.isEmpty else { throw KeyError.paperKeyLine(1, "no key lines found") }
        guard let total, String(SHA256Hasher.digest(bytes).hex.prefix(8)) == total else {
            throw KeyError.paperKeyLine(expectedNumber, "the 'total:' line is missing or does not match: a line is missing")
        }
        return try WrappedRestoreKey.decode(bytes)
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func lineChecksum(_ number: Int, _ piece: [UInt8]) -> String {
        String(SHA256Hasher.digest([UInt8(truncatingIfNeeded: number)] + piece).hex.prefix(4))
    }
}
