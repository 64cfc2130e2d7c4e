import Testing
@testable import SkiffCore

@Suite struct ByteCodecTests {
    @Test(arguments: [UInt64(0), 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max])
    func varintRoundTrips(_ value: UInt64) throws {
        var writer = ByteWriter()
        writer.varint(value)
        var reader = ByteReader(writer.bytes, context: "test")
        #expect(try reader.varint() == value)
        try reader.expectEnd()
    }

    @Test(arguments: [Int64.min, -1, 0, 1, Int64.max])
    func zigzagRoundTrips(_ value: Int64) throws {
        var writer = ByteWriter()
        writer.zigzag(value)
        var reader = ByteReader(writer.bytes, context: "test")
        #expect(try reader.zigzag() == value)
    }

    @Test func nonMinimalVarintIsRejected() {
        var reader = ByteReader([0x80, 0x00], context: "test")
        #expect(throws: FormatError.self) { try reader.varint() }
    }

    @Test func overlongVarintIsRejected() {
        var reader = ByteReader([UInt8](repeating: 0xff, count: 11), context: "test")
        #expect(throws: FormatError.self) { try reader.varint() }
    }

    @Test func truncatedReadsThrowInsteadOfTrapping() {
        var reader = ByteReader([1, 2, 3], context: "test")
        #expect(throws: FormatError.truncated("test")) { try reader.u32() }
        var prefixed = ByteReader([5, 1, 2], context: "test")
        #expect(throws: FormatError.truncated("test")) { try prefixed.lengthPrefixed(limit: 10) }
    }

    @Test func lengthLimitsAreEnforced() {
        var writer = ByteWriter()
        writer.lengthPrefixed([UInt8](repeating: 1, count: 20))
        var reader = ByteReader(writer.bytes, context: "test")
        #expect(throws: FormatError.self) { try reader.lengthPrefixed(limit: 10) }
    }

    @Test func digestsCompareInByteOrderAndRoundTripHex() throws {
        let low = Digest256(bytes: [0x00] + [UInt8](repeating: 0xff, count: 31))
        let high = Digest256(bytes: [0x01] + [UInt8](repeating: 0x00, count: 31))
        #expect(low < high)
        #expect(Digest256(hex: high.hex) == high)
        #expect(Digest256(hex: "zz") == nil)
    }

    /// Found by fuzzing: tree and content-list nodes reserved room for the item count they
    /// declare (up to 2^20 entries, 200 MiB for a tree node) before reading any item.
    @Test func reservationsForDeclaredCountsAreBoundedByTheBytesLeft() throws {
        var reader = ByteReader([0x80, 0x80, 0x40, 1, 2, 3, 4, 5, 6], context: "test")
        let count = try reader.count(limit: 1 << 20)
        #expect(count == 1 << 20)
        #expect(reader.capacity(for: count, minimumSize: 2) == 3)
        #expect(reader.capacity(for: count, minimumSize: 14) == 0)
        #expect(reader.capacity(for: 2, minimumSize: 1) == 2)
    }
}
