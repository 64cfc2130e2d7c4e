import Dispatch

/// Runs blocking work (fsync, syncfs, runs of file system calls) off Swift's cooperative thread
/// pool, so that a long flush does not starve the tasks that encode and upload, and so that calls
/// that wait on a disk can wait side by side (the pool has only one thread per core).
package enum BlockingWork {
    private static let queue = DispatchQueue(label: "skiff.blocking", attributes: .concurrent)

    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Runs `transform` on every element, in `lanes` slices at once, each slice on a blocking
    /// thread of its own, and returns the results in the elements' order. An error thrown by
    /// `transform` ends its slice and is rethrown once the other slices have finished theirs.
    package static func map<Element: Sendable, Result: Sendable>(
        _ elements: [Element], lanes: Int, _ transform: @escaping @Sendable (Element) throws -> Result
    ) async throws -> [Result] {
        let slices = laneSlices(elements, lanes: lanes)
        return try await concurrentMap(slices, lanes: slices.count) { slice in
            try await run { try slice.map(transform) }
        }.flatMap { $0 }
    }
}
