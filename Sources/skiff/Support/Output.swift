import Foundation
import Glibc
import SkiffCore

/// Writing to standard output and standard error.
enum FileHandleOutput {
    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// JSON for `--json` output: sorted keys, ISO 8601 dates, one document per command.
enum JSONOutput {
    /// One compact JSON document on one line (progress lines, listings).
    static func printLine<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Human-readable sizes and rates.
enum Units {
    static func bytes(_ count: Int64) -> String { ByteCount.text(count) }

    static func bytes(_ count: Int) -> String { bytes(Int64(count)) }
}

/// A plain-text table with left-aligned columns.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    var rendered: String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
