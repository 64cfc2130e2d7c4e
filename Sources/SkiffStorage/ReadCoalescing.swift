/// How a shelf gathers neighbouring objects of a pack into one read (`PackShelf.coalescing`).
package struct ReadCoalescing: Sendable, Equatable {
    /// Neighbours this close are read as one range, the bytes between them read and dropped.
    package var gap: Int
    /// The most bytes one read spans (a larger object is read alone).
    package var limit: Int

    package init(gap: Int, limit: Int) {
        self.gap = gap
        self.limit = limit
    }
}
