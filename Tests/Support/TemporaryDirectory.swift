import Foundation
import SkiffSystem

/// A fresh folder under the system temporary directory, removed by `remove()`.
package final class TemporaryDirectory: Sendable {
    package let path: RawPath

    package init(_ label: String = "skiff-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        path = RawPath("\(base)/\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileIO.makeDirectories(path, mode: 0o755)
    }

    package func appending(_ name: String) -> RawPath { path.appending(name) }
    package var string: String { path.description }

    package func remove() {
        try? FileIO.removeTree(path)
    }
}
