/// Reads what `ByteWriter` wrote, checking bounds on every step.
///
/// Every read throws `FormatError.truncated` rather than trapping, because the bytes come
/// from storage that an attacker may control.
package struct ByteReader {
    package let bytes: [UInt8]
    package private(set) var offset: Int
    package let context: String

    package init(_ bytes: [UInt8], offset: Int = 0, context: String) {
        self.bytes = bytes
        self.offset = offset
        self.context = context
    }

    package var remaining: Int { bytes.count - offset }
    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw FormatError.truncated(context) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw FormatError.truncated(context) }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            bytes.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + size]))
            }
        }
        offset += size
        return T(littleEndian: value)
    }

    package mutating func u16() throws -> UInt16 { try fixed(UInt16.self) }
    package mutating func u32() throws -> UInt32 { try fixed(UInt32.self) }
    package mutating func u64() throws -> UInt64 { try fixed(UInt64.self) }
    package mutating func i64() throws -> Int64 { Int64(bitPattern: try fixed(UInt64.self)) }

    package mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift == 63 && byte > 1 { throw FormatError.invalid(context, "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 { throw FormatError.invalid(context, "varint not minimally encoded") }
                return result
            }
            shift += 7
            if shift > 63 { throw FormatError.invalid(context, "varint too long") }
        }
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    package mutating func count(limit: Int) throws -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else {
            throw FormatError.invalid(context, "count \(value) exceeds limit \(limit)")
        }
        return Int(value)
    }

    /// What to reserve for `count` items read from the input, each at least `minimumSize`
    /// bytes: never more than the bytes left can hold, so a count alone cannot demand memory.
    package func capacity(for count: Int, minimumSize: Int) -> Int {
        min(count, remaining / minimumSize)
    }

    package mutating func zigzag() throws -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    package mutating func raw(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw FormatError.truncated(context) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    package mutating func lengthPrefixed(limit: Int) throws -> [UInt8] {
        let n = try count(limit: limit)
        return Array(try raw(n))
    }

    package mutating func digest() throws -> Digest256 {
        guard remaining >= 32 else { throw FormatError.truncated(context) }
        let value = bytes.withUnsafeBytes { Digest256(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 32])) }
        offset += 32
        return value
    }

    /// Throws unless every byte was consumed: trailing bytes mean a different or forged encoding.
    package func expectEnd() throws {
        guard isAtEnd else { throw FormatError.invalid(context, "\(remaining) unexpected trailing bytes") }
    }
}
