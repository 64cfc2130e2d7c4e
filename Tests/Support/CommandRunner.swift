import Foundation
import Synchronization

/// Runs the built `skiff` executable (or any program) and captures what it printed.
package struct CommandResult: Sendable, CustomStringConvertible {
    package var status: Int32
    package var standardOutput: String
    package var standardError: String

    package var description: String { "exit \(status)\nstdout:\n\(standardOutput)\nstderr:\n\(standardError)" }
}

package enum CommandRunner {
    /// The folder holding the test bundle, where SwiftPM also puts the package's executables.
    package static var buildFolder: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Path of a built executable of this package ("skiff", "skiff-site").
    package static func executable(_ name: String) -> String {
        var folder = buildFolder
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return buildFolder.appendingPathComponent(name).path
    }

    /// Runs `program` to its end and returns what it printed. The wait does not hold a thread of
    /// Swift's cooperative pool (two threads on this machine): the pipes are read and the exit
    /// is awaited on threads of their own, so tests running beside it keep going.
    package static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil)
        async throws -> CommandResult
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { continuation in
            // Both pipes are read to their end (so a chatty child cannot fill one and stall),
            // then the exit is waited for, all off the cooperative pool.
            DispatchQueue.global().async {
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                if let inputPipe, let input {
                    inputPipe.fileHandleForWriting.write(Data(input.utf8))
                    try? inputPipe.fileHandleForWriting.close()
                }
                let errData = Mutex(Data())
                let group = DispatchGroup()
                group.enter()
                DispatchQueue.global().async {
                    let data = PipeReader.all(err.fileHandleForReading)
                    errData.withLock { $0 = data }
                    group.leave()
                }
                let outData = PipeReader.all(out.fileHandleForReading)
                process.waitUntilExit()
                group.wait()
                continuation.resume(returning: CommandResult(
                    status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                    standardError: String(decoding: errData.withLock { $0 }, as: UTF8.self)))
            }
        }
    }

    package static func skiff(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> CommandResult {
        try await run(executable("skiff"), arguments, environment: environment, input: input)
    }
}
