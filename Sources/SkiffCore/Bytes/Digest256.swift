/// 32 bytes held inline (no heap allocation), compared in byte order.
///
/// The storage for object addresses, chunk identities and seal hashes: millions of them
/// live in sets during garbage collection and audits.
package struct Digest256: Hashable, Comparable, Sendable {
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    package static let zero = Digest256()

    private init() {}

    /// Copies exactly 32 bytes; traps on any other length (callers check lengths first).
    package init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "Digest256 needs 32 bytes, got \(bytes.count)")
        self.init()
        withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: bytes) }
    }

    package init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        self = array.withUnsafeBytes { Digest256($0) }
    }

    package init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self, body)
    }

    package var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    package var hex: String { withUnsafeBytes { Hex.encode($0) } }
    package var isZero: Bool { self == .zero }

    /// The first eight bytes read as a little-endian integer: a pseudo-random value for
    /// keyed digests, used for content-defined boundaries and sampling.
    package var prefix64: UInt64 { UInt64(littleEndian: w0) }

    package static func < (lhs: Digest256, rhs: Digest256) -> Bool {
        (lhs.w0.bigEndian, lhs.w1.bigEndian, lhs.w2.bigEndian, lhs.w3.bigEndian)
            < (rhs.w0.bigEndian, rhs.w1.bigEndian, rhs.w2.bigEndian, rhs.w3.bigEndian)
    }
}

extension Digest256: CustomStringConvertible {
    package var description: String { hex }
}
