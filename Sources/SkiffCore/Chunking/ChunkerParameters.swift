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

    package func validate() throws {
        guard averageSize.nonzeroBitCount == 1 else {
            throw FormatError.invalid("chunker parameters", "average size \(averageSize) is not a power of two")
        }
        guard (64...averageSize).contains(minSize) else {
            throw FormatError.invalid("chunker parameters", "min size \(minSize) must be 64 bytes or more and at most the average")
        }
        guard (averageSize...(64 << 20)).contains(maxSize) else {
            throw FormatError.invalid("chunker parameters", "max size \(maxSize) must be between the average and 64 MiB")
        }
        guard (8...24).contains(averageBits) else {
            throw FormatError.invalid("chunker parameters", "average size must be between 256 B and 16 MiB")
        }
    }
}
