/// Builds a byte string: little-endian integers, LEB128 varints and length-prefixed byte strings.
package struct ByteWriter {
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package var count: Int { bytes.count }

    package mutating func u8(_ value: UInt8) { bytes.append(value) }

    package mutating func u16(_ value: UInt16) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    /// Unsigned LEB128.
    package mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    package mutating func varint(_ value: Int) {
        precondition(value >= 0, "varint of a negative Int")
        varint(UInt64(value))
    }

    /// Signed values, zigzag-encoded then LEB128.
    package mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    package mutating func raw<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    package mutating func raw(_ data: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: data)
    }

    /// A varint length followed by the bytes.
    package mutating func lengthPrefixed<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        varint(data.count)
        bytes.append(contentsOf: data)
    }

    package mutating func digest(_ value: Digest256) {
        value.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}
