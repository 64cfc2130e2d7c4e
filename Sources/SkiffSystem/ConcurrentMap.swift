/// Runs `transform` on every element, `lanes` slices of the elements at once (each slice in
/// order), and returns the results in the elements' order. For I/O where every call is a round
/// trip (a bucket's HEAD, an object header read): several in flight hide the waiting.
///
/// An error thrown by `transform` cancels the other lanes and is rethrown.
package func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], lanes: Int, _ transform: @escaping @Sendable (Element) async throws -> Result
) async throws -> [Result] {
    try await withThrowingTaskGroup(of: (Int, [Result]).self) { group in
        for slice in laneSlices(elements, lanes: lanes) {
            group.addTask {
                var results: [Result] = []
                results.reserveCapacity(slice.count)
                for element in slice { results.append(try await transform(element)) }
                return (slice.startIndex, results)
            }
        }
        var slices: [(Int, [Result])] = []
        for try await slice in group { slices.append(slice) }
        return slices.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }
}

/// `elements` cut into at most `lanes` consecutive slices of nearly equal size (none empty).
package func laneSlices<Element>(_ elements: [Element], lanes: Int) -> [ArraySlice<Element>] {
    guard !elements.isEmpty else { return [] }
    let sliceSize = (elements.count + max(lanes, 1) - 1) / max(lanes, 1)
    return stride(from: 0, to: elements.count, by: sliceSize).map { elements[$0..<min($0 + sliceSize, elements.count)] }
}
