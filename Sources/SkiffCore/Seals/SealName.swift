/// Where a seal is filed: host, sequence and hash. "web1/0000000000000007-<hash>".
package struct SealName: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var host: String
    package var sequence: UInt64
    package var hash: Digest256

    package init(host: String, sequence: UInt64, hash: Digest256) {
        self.host = host
        self.sequence = sequence
        self.hash = hash
    }

    /// "0000000000000007-<64 hex>": the file name within the host's seal folder.
    package var fileName: String { Self.filePrefix(sequence: sequence) + hash.hex }

    /// "0000000000000007-": how the file names of every seal with this sequence begin.
    package static func filePrefix(sequence: UInt64) -> String {
        let digits = String(sequence, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits + "-"
    }

    /// Reads a seal's place from a store listing or a request path. Only the exact form
    /// `fileName` writes is accepted (lower-case hex, no sign), with a valid host name: the
    /// result names a store key, and a path such as `../x` or an alias of another seal's name
    /// must not get that far.
    package init?(host: String, fileName: some StringProtocol) {
        guard (try? HostName.validate(host)) != nil else { return nil }
        let parts = fileName.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, let sequence = UInt64(parts[0], radix: 16),
              let hash = Digest256(hex: parts[1]) else { return nil }
        self.init(host: host, sequence: sequence, hash: hash)
        guard self.fileName.utf8.elementsEqual(fileName.utf8) else { return nil }
    }

    /// A short form for tables: "web1#7 3fa9c2d1".
    package var short: String { "\(host)#\(sequence) \(hash.hex.prefix(8))" }
    package var description: String { "\(host)/\(fileName)" }

    package static func < (lhs: SealName, rhs: SealName) -> Bool {
        (lhs.host, lhs.sequence, lhs.hash) < (rhs.host, rhs.sequence, rhs.hash)
    }
}
