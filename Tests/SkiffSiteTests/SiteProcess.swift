import Foundation
import Glibc
import SkiffSystem
import SkiffTestSupport
import Synchronization

/// A `skiff-site serve` process on 127.0.0.1, started by the test.
final class SiteProcess: Sendable {
    let data: RawPath
    /// More `serve` options; scrubbing is off unless a test asks (it would race with tests
    /// that damage objects on purpose).
    let options: [String]
    private let state = Mutex<(process: Process?, port: Int)>((nil, 0))

    init(data: RawPath, options: [String] = ["--scrub-rate", "0"]) {
        self.data = data
        self.options = options
    }

    var port: Int { state.withLock { $0.port } }
    var url: String { "https://127.0.0.1:\(port)" }

    /// Starts the server (on the same port as before, if it ran before) and waits until it
    /// listens.
    func start() throws {
        let port = self.port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.executable("skiff-site"))
        process.arguments = ["serve", "--data", data.description, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"] + options
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = output.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n") && Date() < deadline {
            let data = PipeReader.some(handle)
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("listening on "),
              let bound = Int(line.split(separator: ":").last ?? "") else {
            process.terminate()
            throw TestFailure("skiff-site did not start: \(text)")
        }
        state.withLock { $0 = (process, bound) }
    }

    /// SIGTERM, then wait for the process to exit.
    func stop() {
        guard let process = state.withLock({ $0.process }) else { return }
        process.terminate()
        process.waitUntilExit()
        state.withLock { $0.process = nil }
    }

    /// SIGKILL: no chance to clean up.
    func kill() {
        guard let process = state.withLock({ $0.process }) else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        state.withLock { $0.process = nil }
    }

    var isRunning: Bool { state.withLock { $0.process?.isRunning ?? false } }

    /// The server's process id while it runs.
    var processIdentifier: Int32? { state.withLock { $0.process?.processIdentifier } }
}
