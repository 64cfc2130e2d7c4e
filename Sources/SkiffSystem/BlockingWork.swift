import Dispatch

/// Runs blocking work (fsync, syncfs) off Swift's cooperative thread pool, so that a long
/// flush does not starve the tasks that encode and upload.
package enum BlockingWork {
    private static let queue = DispatchQueue(label: "skiff.blocking", attributes: .concurrent)

    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
