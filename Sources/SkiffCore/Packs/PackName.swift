/// The name of a pack file: 16 random bytes, written as 32 lowercase hex digits. Stored at
/// `packs/<first 2 hex>/<32 hex>` (docs/FORMAT.md §7.1). Random rather than a content hash,
/// because a pack's name is needed before its last object is appended.
package struct PackName: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let hex: String

    package init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return nil
        }
        self.hex = String(hex)
    }

    /// A fresh random name.
    package static func random() -> PackName {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return PackName(hex: Hex.encode(bytes))!
    }

    /// The pack's path in a store, relative to the store's root.
    package var path: String { "packs/\(hex.prefix(2))/\(hex)" }

    package var description: String { hex }

    package static func < (lhs: PackName, rhs: PackName) -> Bool { lhs.hex < rhs.hex }
}
