import CLZ4

/// LZ4 block compression (liblz4) over contiguous buffers.
package enum LZ4Block {
    /// Largest input LZ4 accepts in one block.
    package static let maxInputSize = Int(LZ4_MAX_INPUT_SIZE)

    /// The most bytes one byte of an LZ4 block can expand to: a match length grows by at
    /// most 255 per byte of input, so no block decompresses to more than 255 times its size.
    package static let maxExpansion = 255

    /// Worst-case compressed size of `count` input bytes.
    package static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into `destination`.
    /// - Returns: compressed bytes written, or nil when the result would not fit in
    ///   `destination` (callers size it below the input to keep only useful compression).
    package static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        guard !source.isEmpty, source.count <= maxInputSize, !destination.isEmpty else { return nil }
        let written = LZ4_compress_default(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(min(destination.count, Int(Int32.max))))
        return written > 0 ? Int(written) : nil
    }

    /// Decompresses `source`, which must expand to exactly `destination.count` bytes.
    package static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard !source.isEmpty else { throw FormatError.invalid("LZ4 block", "empty input") }
        let written = LZ4_decompress_safe(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        guard written == Int32(destination.count) else {
            throw FormatError.invalid("LZ4 block", "does not decompress to the recorded \(destination.count) bytes")
        }
    }
}
