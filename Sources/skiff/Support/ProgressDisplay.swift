import Foundation

/// A one-line progress display on the terminal (standard error), refreshed twice a second
/// until stopped. Prints nothing when standard error is not a terminal.
final class ProgressDisplay: Sendable {
    private let task: Task<Void, Never>?

    init(render: @escaping @Sendable (_ elapsed: Double) -> String) {
        guard FileHandleOutput.standardErrorIsTerminal else {
            task = nil
            return
        }
        let start = Date()
        task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 500_000_000)
                if Task.isCancelled { break }
                FileHandleOutput.standardError("\r\u{1B}[K" + render(Date().timeIntervalSince(start)))
            }
        }
    }

    func stop() {
        guard let task else { return }
        task.cancel()
        FileHandleOutput.standardError("\r\u{1B}[K")
    }
}
