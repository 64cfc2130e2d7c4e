import Foundation
import Glibc

/// moto's standalone S3 server (PyPI `moto[server]`, installed by Tools/setup.sh) on
/// 127.0.0.1 and a free port, started by the test.
package final class MotoServer: Sendable {
    let process: Process
    package let port: Int
    package var endpoint: String { "http://127.0.0.1:\(port)" }

    package init() throws {
        port = try LoopbackPort.free()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["moto_server", "-H", "127.0.0.1", "-p", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if LoopbackPort.accepts(port) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw TestFailure("moto_server did not start on port \(port) (pip install 'moto[server]': Tools/setup.sh does it)")
    }

    /// SIGTERM, then SIGKILL after 5 s. Polls rather than `waitUntilExit`, which can wait on
    /// a run loop that an async test's thread never turns.
    package func stop() {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
