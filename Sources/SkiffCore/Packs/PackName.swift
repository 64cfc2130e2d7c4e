/// The name of a pack file: 16 bytes, written as 32 lowercase hex digits: the Unix second the
/// pack was started (6 bytes, big-endian) and 10 random bytes. Names sort by the time their
/// packs were started, so a listing of a bucket's packs after a name lists the packs started
/// since (docs/FORMAT.md §11, S13); a pack is named before its last object is appended, so the
/// name is not a content hash.
package struct PackName: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let hex: String

    package init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32, hex.utf8.allSatisfy(Hex.isLowercaseDigit) else {
            return nil
        }
        self.hex = String(hex)
    }

    /// A fresh name for a pack started at `seconds` (Unix time).
    package static func new(startedAt seconds: Int) -> PackName {
        var bytes = [UInt8](repeating: 0, count: 16)
        let time = UInt64(clamping: max(0, seconds))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: time >> (8 * UInt64(5 - i))) }
        for i in 6..<16 { bytes[i] = UInt8.random(in: 0...255) }
        return PackName(hex: Hex.encode(bytes))!
    }

    /// The lowest name of a pack started at `seconds`: a listing after it starts there.
    package static func lowest(startedAt seconds: Int) -> String {
        let time = String(UInt64(clamping: max(0, seconds)), radix: 16)
        return String(repeating: "0", count: max(0, 12 - time.count)) + time + String(repeating: "0", count: 20)
    }

    /// The Unix second the pack was started.
    package var startedAt: Int { Int(hex.prefix(12), radix: 16) ?? 0 }

    /// In a folder: `packs/<last 2 hex>/<32 hex>` (names that start alike spread over 256
    /// folders).
    package var folderPath: String { "packs/\(hex.suffix(2))/\(hex)" }

    /// In a bucket: `packs/<32 hex>`, listed in the order packs were started.
    package var bucketPath: String { "packs/\(hex)" }

    package var description: String { hex }

    package static func < (lhs: PackName, rhs: PackName) -> Bool { lhs.hex < rhs.hex }
}
