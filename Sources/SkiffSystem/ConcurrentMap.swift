/// Runs `transform` on every element, `lanes` slices of the elements at once (each slice in
/// order), and returns the results in the elements' order. For I/O where every call is a round
/// trip (a bucket's HEAD, an object header read): several in flight hide the waiting.
///
/// An error thrown by `transform` cancels the other lanes and is rethrown.
package func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], lanes: Int, _ transform: @escaping @Sendable (Element) async throws -> Result
) async throws -> [Result] {
    guard !elements.isEmpty else { return [] }
    let sliceSize = (elements.count + max(lanes, 1) - 1) / max(lanes, 1)
    return try await withThrowingTaskGroup(of: (Int, [Result]).self) { group in
        for start in stride(from: 0, to: elements.count, by: sliceSize) {
            let slice = elements[start..<min(start + sliceSize, elements.count)]
            group.addTask {
                var results: [Result] = []
                results.reserveCapacity(slice.count)
                for element in slice { results.append(try await transform(element)) }
                return (start, results)
            }
        }
        var slices: [(Int, [Result])] = []
        for try await slice in group { slices.append(slice) }
        return slices.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }
}
