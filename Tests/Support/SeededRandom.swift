/// A small deterministic generator (SplitMix64) so that generated trees are the same on
/// every run and every machine.
package struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` pseudo-random bytes, filled eight at a time.
    package mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                raw.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            var last = next()
            while i < count {
                raw[i] = UInt8(truncatingIfNeeded: last)
                last >>= 8
                i += 1
            }
        }
        return out
    }

    /// Text that compresses like source code: words, indentation and newlines.
    package mutating func text(_ count: Int) -> [UInt8] {
        let words = ["let", "var", "func", "return", "if", "else", "for", "in", "struct", "value", "count", "index", "buffer", "{", "}", "(", ")", "=", "+", "try", "await", "self", "0", "1"]
        var out: [UInt8] = []
        out.reserveCapacity(count + 16)
        while out.count < count {
            let indent = Int(next() % 4) * 4
            out += [UInt8](repeating: 0x20, count: indent)
            for _ in 0..<(2 + Int(next() % 8)) {
                out += Array(words[Int(next() % UInt64(words.count))].utf8)
                out.append(0x20)
            }
            out.append(0x0a)
        }
        return Array(out.prefix(count))
    }
}
