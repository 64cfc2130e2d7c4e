import Foundation

/// Text form of key files: a BEGIN line, informational "Name: value" headers, base64 lines,
/// an END line. Headers are for people; decoders ignore them and trust only the bytes.
package enum KeyArmor {
    package static func armor(label: String, headers: [(String, String)], bytes: [UInt8]) -> String {
        var lines = ["-----BEGIN \(label)-----"]
        for (name, value) in headers { lines.append("\(name): \(value)") }
        lines.append("")
        let base64 = Data(bytes).base64EncodedString()
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The kind of armored key in `text` ("SKIFF HOST KEY"), if any.
    package static func label(of text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-----BEGIN "), trimmed.hasSuffix("-----") {
                return String(trimmed.dropFirst(11).dropLast(5))
            }
        }
        return nil
    }

    package static func dearmor(_ text: String, label: String) throws -> [UInt8] {
        guard let found = self.label(of: text) else {
            throw KeyError.wrongKeyKind(expected: label.lowercased(), found: "file that is not a Skiff key")
        }
        guard found == label else { throw KeyError.wrongKeyKind(expected: label.lowercased(), found: found.lowercased()) }
        var inside = false
        var base64 = ""
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line == "-----BEGIN \(label)-----" { inside = true; continue }
            if line == "-----END \(label)-----" { break }
            guard inside, !line.isEmpty, !line.contains(":") else { continue }
            base64 += line
        }
        guard let data = Data(base64Encoded: base64), !data.isEmpty else {
            throw FormatError.invalid(label.lowercased(), "base64 body is damaged")
        }
        return Array(data)
    }
}
