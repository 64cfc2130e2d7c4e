/// Whole values read together by `CollectableStore.readSpans`: one buffer (one read of
/// neighbouring objects of a pack, or one value) and where each value is inside it.
package struct ReadSpan<Buffer: Sendable>: Sendable {
    package var buffer: Buffer
    /// Each value's position in the keys asked for, and its bytes' range in `buffer`.
    package var values: [(position: Int, range: Range<Int>)]

    package init(buffer: Buffer, values: [(position: Int, range: Range<Int>)]) {
        self.buffer = buffer
        self.values = values
    }
}
