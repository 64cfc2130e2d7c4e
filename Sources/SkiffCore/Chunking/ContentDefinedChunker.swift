/// FastCDC-style content-defined chunking with normalized chunking (level 2).
///
/// Boundaries depend on the 64 bytes before them, through a gear rolling hash keyed by the
/// repository: `fp = (fp << 1) &+ gear[byte]`, with a cut where the top bits of `fp` are zero.
/// Before the average size a stricter mask (2 more bits) applies, after it a looser one
/// (2 fewer bits), which narrows the size distribution around the average.
/// The first `minSize` bytes of each chunk are skipped without hashing.
package struct ContentDefinedChunker: Sendable {
    package let parameters: ChunkerParameters
    private let gear: GearTable
    private let maskBeforeAverage: UInt64
    private let maskAfterAverage: UInt64

    package init(parameters: ChunkerParameters, gear: GearTable) throws {
        try parameters.validate()
        self.parameters = parameters
        self.gear = gear
        let bits = parameters.averageBits
        maskBeforeAverage = Self.topBits(bits + 2)
        maskAfterAverage = Self.topBits(bits - 2)
    }

    private static func topBits(_ count: Int) -> UInt64 {
        ~UInt64(0) << UInt64(64 - count)
    }

    /// The length of the chunk that starts at the beginning of `data`.
    ///
    /// - Parameter isFinal: true when `data` runs to the end of the input.
    /// - Returns: a length in `1...data.count`, or nil when no boundary can be decided yet
    ///   (fewer than `maxSize` bytes and more input to come). Empty input returns nil.
    package func nextChunkLength(in data: UnsafeRawBufferPointer, isFinal: Bool) -> Int? {
        let count = data.count
        guard count > 0 else { return nil }
        let maxSize = parameters.maxSize
        if count <= parameters.minSize {
            return isFinal ? count : nil
        }
        let limit = min(count, maxSize)
        let normal = min(parameters.averageSize, limit)
        let bytes = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let table = gear.values
        let maskS = maskBeforeAverage
        let maskL = maskAfterAverage
        var fp: UInt64 = 0
        var i = parameters.minSize
        while i < normal {
            fp = (fp << 1) &+ table[Int(bytes[i])]
            if fp & maskS == 0 { return i + 1 }
            i += 1
        }
        while i < limit {
            fp = (fp << 1) &+ table[Int(bytes[i])]
            if fp & maskL == 0 { return i + 1 }
            i += 1
        }
        if limit == maxSize { return maxSize }
        return isFinal ? count : nil
    }
}
