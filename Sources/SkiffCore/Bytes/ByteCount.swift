import Foundation

/// Sizes as people read and write them: "512 B", "1.5 GiB"; parsed from "500G", "10GiB",
/// "64M" or a plain number of bytes (binary units: K = 1024).
package enum ByteCount {
    static let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]

    /// "1023 B", "1.5 GiB".
    package static func text(_ count: Int64) -> String {
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    package static func text(_ count: Int) -> String { text(Int64(count)) }

    /// Bytes from "500G", "10GiB", "64 M", "4096"; nil for anything else or more than
    /// `Int.max` bytes.
    package static func parse(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces)
        var multiplier = 1
        for (power, letter) in ["K", "M", "G", "T", "P"].enumerated() {
            for suffix in ["\(letter)iB", "\(letter)B", letter] where digits.uppercased().hasSuffix(suffix.uppercased()) {
                digits = String(digits.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
                multiplier = 1 << (10 * (power + 1))
                break
            }
            if multiplier != 1 { break }
        }
        if multiplier == 1, digits.uppercased().hasSuffix("B") { digits = String(digits.dropLast()).trimmingCharacters(in: .whitespaces) }
        guard let value = Double(digits), value >= 0, value.isFinite else { return nil }
        let bytes = (value * Double(multiplier)).rounded(.down)
        guard bytes < 9.2e18 else { return nil }
        return Int(bytes)
    }
}
