import Foundation
import SkiffSystem
import SkiffTestSupport
import Testing

/// Every unit under Systemd/ passes `systemd-analyze verify`, with its ExecStart pointed at
/// the binaries this build produced.
@Suite struct SystemdUnitTests {
    static let unitFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Systemd")
    static let analyzer = "/usr/bin/systemd-analyze"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyzer)))
    func unitsVerify() async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.unitFolder.path)
            .filter { $0.hasSuffix(".service") || $0.hasSuffix(".timer") }.sorted()
        #expect(names.contains("skiff-backup.service") && names.contains("skiff-site.service") && names.contains("skiff-audit.timer"))
        let folder = try TemporaryDirectory("skiff-units")
        defer { folder.remove() }
        var paths: [String] = []
        for name in names {
            var text = try String(contentsOf: Self.unitFolder.appendingPathComponent(name), encoding: .utf8)
            for binary in ["skiff-site", "skiff"] {
                text = text.replacingOccurrences(of: "/usr/local/bin/\(binary) ", with: CommandRunner.executable(binary) + " ")
            }
            let path = folder.appending(name).description
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let result = try await CommandRunner.run(Self.analyzer, ["verify"] + paths)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardError.isEmpty, "\(result.standardError)")
    }
}
