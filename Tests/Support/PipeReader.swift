import Foundation
import Glibc

/// Reads a pipe from a child process with read(2), retrying when a signal interrupts it.
/// Foundation's `availableData` and `readDataToEndOfFile()` trap on EINTR (a `try!` inside), and
/// the test process receives signals (children exiting, tests that signal processes), which
/// once took the whole test run down.
package enum PipeReader {
    /// What the pipe holds now, waiting for at least one byte; empty at end of file.
    package static func some(_ handle: FileHandle) -> Data {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Data(buffer[..<count]) }
            if errno != EINTR { return Data() }
        }
    }

    /// Everything until end of file.
    package static func all(_ handle: FileHandle) -> Data {
        var data = Data()
        while true {
            let piece = some(handle)
            if piece.isEmpty { return data }
            data += piece
        }
    }
}
