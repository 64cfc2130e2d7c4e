import Foundation
import SkiffSystem

/// A fresh folder under `$TMPDIR` (or `/tmp`), removed by `remove()` or, at the latest, when the last reference goes,
/// so a test that throws or fails an expectation half-way does not leave its files on a shared disk.
package final class TemporaryDirectory: Sendable {
    package let path: RawPath

    package init(_ label: String = "skiff-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        path = RawPath("\(base)/\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileIO.makeDirectories(path, mode: 0o755)
    }

    package func appending(_ name: String) -> RawPath { path.appending(name) }
    package var string: String { path.description }

    /// Idempotent; a folder already gone is not an error.
    package func remove() {
        try? FileIO.removeTree(path)
    }

    deinit {
        remove()
    }
}
