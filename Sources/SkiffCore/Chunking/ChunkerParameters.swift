/// Sizes for content-defined chunking, recorded in the repository config.
///
/// The defaults (256 KiB / 1 MiB / 4 MiB) and the page-aligned size for database files are
/// justified by measurement in docs/FORMAT.md, "Chunking".
package struct ChunkerParameters: Codable, Equatable, Sendable {
    package var minSize: Int
    package var averageSize: Int
    package var maxSize: Int

    package init(minSize: Int, averageSize: Int, maxSize: Int) {
        self.minSize = minSize
        self.averageSize = averageSize
        self.maxSize = maxSize
    }

    package static let standard = ChunkerParameters(minSize: 256 << 10, averageSize: 1 << 20, maxSize: 4 << 20)

    /// log2 of the average size.
    package var averageBits: Int { Int.bitWidth - 1 - averageSize.leadingZeroBitCount }

    /// Throws `FormatError` unless the sizes are usable: a power-of-two average from 256 B to
    /// 16 MiB, a minimum from 64 B to the average, a maximum from the average to 64 MiB. The
    /// values come from key files and stores, so any `Int` is checked without trapping.
    package func validate() throws {
        guard averageSize.nonzeroBitCount == 1, (8...24).contains(averageBits) else {
            throw FormatError.invalid("chunker parameters", "average size \(averageSize) is not a power of two between 256 B and 16 MiB")
        }
        guard minSize >= 64, minSize <= averageSize else {
            throw FormatError.invalid("chunker parameters", "min size \(minSize) must be 64 bytes or more and at most the average")
        }
        guard maxSize >= averageSize, maxSize <= 64 << 20 else {
            throw FormatError.invalid("chunker parameters", "max size \(maxSize) must be between the average and 64 MiB")
        }
    }
}
