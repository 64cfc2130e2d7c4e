/// A Bloom filter over 256-bit digests that are already uniformly random (keyed identities,
/// addresses): the bit positions are taken from the digest itself, so no hashing is needed.
///
/// Answers "certainly not present" or "maybe present"; with 10 bits per element and 7 probes
/// the false-positive rate is under 1%.
package struct BloomFilter: Sendable {
    private var words: [UInt64]
    private let bitCount: UInt64
    private let probes: Int

    /// A filter sized for `capacity` elements (at least 64 Ki bits).
    package init(capacity: Int, bitsPerElement: Int = 10, probes: Int = 7) {
        let bits = max(1 << 16, capacity * bitsPerElement)
        words = [UInt64](repeating: 0, count: (bits + 63) / 64)
        bitCount = UInt64(words.count * 64)
        self.probes = probes
    }

    /// Double hashing from two 64-bit halves of the digest (Kirsch–Mitzenmacher).
    private func positions(_ digest: Digest256) -> (UInt64, UInt64) {
        digest.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | 1)
        }
    }

    package mutating func insert(_ digest: Digest256) {
        let (a, b) = positions(digest)
        for i in 0..<UInt64(probes) {
            let bit = (a &+ i &* b) % bitCount
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    /// False only when `digest` was certainly never inserted.
    package func mayContain(_ digest: Digest256) -> Bool {
        let (a, b) = positions(digest)
        for i in 0..<UInt64(probes) {
            let bit = (a &+ i &* b) % bitCount
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }
}
