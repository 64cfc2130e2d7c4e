import SkiffCore

/// Where a seal listing resumes: `after=host/sequence` (docs/PROTOCOL.md), the last seal of
/// the previous page. The host must be a valid host name and the sequence a decimal number.
package struct SealListCursor: Equatable, Sendable {
    package var host: String
    package var sequence: UInt64

    package init(host: String, sequence: UInt64) {
        self.host = host
        self.sequence = sequence
    }

    /// The query value for this cursor.
    package var text: String { "\(host)/\(sequence)" }

    /// Reads `host/sequence`; nil for anything else (an empty or invalid host, a sequence that
    /// is not digits only or does not fit in 64 bits, more than one slash).
    package static func parse(_ text: String) -> SealListCursor? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (try? HostName.validate(String(parts[0]))) != nil,
              !parts[1].isEmpty, parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let sequence = UInt64(parts[1]) else { return nil }
        return SealListCursor(host: String(parts[0]), sequence: sequence)
    }
}
