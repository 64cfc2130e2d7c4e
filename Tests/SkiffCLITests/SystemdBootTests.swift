import Foundation
import Glibc
import SkiffTestSupport
import Testing

/// The units under Systemd/ boot and run under systemd 252 as PID 1: `Tools/systemd/boot-test.sh`
/// boots a Debian 12 root with `systemd-nspawn -b`, follows the README's "Running Skiff under
/// systemd" steps in it with the binaries this build produced, and checks what systemd and the
/// journal say (readiness, seccomp, warnings, watchdog, reload, stop, timers' services, a
/// reboot). Its report, with `systemd-analyze security` for each unit, is printed.
///
/// Needs root, debootstrap and systemd-nspawn (Tools/setup.sh installs them) and Debian's
/// mirror the first time (the root is cached in /var/cache/skiff-test). Without them the test
/// is skipped, except in CI (CI=true), where it runs and fails.
@Suite struct SystemdBootTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tools/systemd/boot-test.sh").path

    /// What keeps this machine from booting a container, or nil.
    static var missingPrerequisite: String? {
        if geteuid() != 0 { return "not root" }
        for tool in ["/usr/sbin/debootstrap", "/usr/bin/systemd-nspawn", "/usr/bin/nsenter"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (Tools/setup.sh installs it)"
        }
        return nil
    }

    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test(.enabled(if: missingPrerequisite == nil || required), .timeLimit(.minutes(20)))
    func unitsBootAndRunUnderSystemd() throws {
        if let missing = Self.missingPrerequisite {
            Issue.record("CI must boot the systemd units, but \(missing)")
            return
        }
        let skiff = CommandRunner.executable("skiff"), site = CommandRunner.executable("skiff-site")
        let binaries = (skiff as NSString).deletingLastPathComponent
        #expect((site as NSString).deletingLastPathComponent == binaries, "skiff and skiff-site are built into different folders")
        let result = try CommandRunner.run(Self.script, [binaries])
        print("---- Tools/systemd/boot-test.sh \(binaries)\n\(result.standardOutput)\(result.standardError)----")
        #expect(result.status == 0, "the systemd boot test failed (its report is printed above)")
    }
}
