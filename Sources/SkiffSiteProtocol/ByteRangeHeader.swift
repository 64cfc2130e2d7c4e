/// One byte range asked for in a `Range` header: `bytes=first-last` or `bytes=first-` (to the
/// end). Only single ranges with digits are read (no suffix ranges `bytes=-n`, no lists, no
/// signs or spaces).
///
/// The range is as asked: `last` may lie beyond the value. Fitting it to the value's size is
/// the caller's job, which knows the size.
package struct ByteRangeHeader: Equatable, Sendable {
    /// The first byte asked for.
    package var first: Int
    /// The last byte asked for (inclusive), or nil for "to the end".
    package var last: Int?

    package init(first: Int, last: Int?) {
        precondition(first >= 0 && (last ?? first) >= first, "a byte range runs forwards from 0")
        self.first = first
        self.last = last
    }

    /// The exclusive end (`last + 1`, saturating at `Int.max`), or nil for "to the end".
    package var end: Int? { last.map { $0 == Int.max ? Int.max : $0 + 1 } }

    /// The header value that asks for this range.
    package var text: String { "bytes=\(first)-\(last.map(String.init) ?? "")" }

    /// Reads a `Range` header value; nil when it is not one range of this form, when a number
    /// does not fit in `Int`, or when `last` is before `first`.
    package static func parse(_ value: String) -> ByteRangeHeader? {
        guard value.hasPrefix("bytes=") else { return nil }
        let parts = value.utf8.dropFirst(6).split(separator: UInt8(ascii: "-"), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2, let first = number(parts[0]) else { return nil }
        if parts[1].isEmpty { return ByteRangeHeader(first: first, last: nil) }
        guard let last = number(parts[1]), last >= first else { return nil }
        return ByteRangeHeader(first: first, last: last)
    }

    /// A non-empty run of ASCII digits that fits in `Int`.
    static func number(_ digits: Substring.UTF8View) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
