/// How one file's bytes are cut into chunks.
///
/// Only deduplication depends on the policy: a reader never needs to know which one
/// produced a file's chunks.
package enum ChunkingPolicy: Sendable {
    /// Content-defined boundaries (the default).
    case contentDefined(ContentDefinedChunker)
    /// Fixed-size pieces aligned to the start of the file, for page-structured files
    /// (SQLite and similar databases), where an update rewrites pages in place.
    case fixed(size: Int)

    /// The length of the chunk that starts at the beginning of `data`; same contract as
    /// `ContentDefinedChunker.nextChunkLength(in:isFinal:)`.
    package func nextChunkLength(in data: UnsafeRawBufferPointer, isFinal: Bool) -> Int? {
        switch self {
        case .contentDefined(let chunker):
            return chunker.nextChunkLength(in: data, isFinal: isFinal)
        case .fixed(let size):
            if data.count >= size { return size }
            return isFinal && !data.isEmpty ? data.count : nil
        }
    }

    /// The most bytes a chunk can hold under this policy.
    package var maxChunkSize: Int {
        switch self {
        case .contentDefined(let chunker): return chunker.parameters.maxSize
        case .fixed(let size): return size
        }
    }
}
