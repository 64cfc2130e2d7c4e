import CLibCrypto

/// Random bytes from libcrypto's DRBG, seeded by the kernel.
package enum SecureRandom {
    /// Fills `buffer`. Traps if the generator fails: without randomness no key or nonce is safe.
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        let rc = RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        precondition(rc == 1, "RAND_bytes failed: the system has no usable randomness")
    }

    package static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A uniformly random value in 0..<bound.
    package static func uniform(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var generator = SecureRandomGenerator()
        return UInt64.random(in: 0..<bound, using: &generator)
    }
}

/// A `RandomNumberGenerator` backed by RAND_bytes.
package struct SecureRandomGenerator: RandomNumberGenerator {
    package init() {}
    package mutating func next() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { SecureRandom.fill($0) }
        return value
    }
}
