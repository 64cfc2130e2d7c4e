import Foundation
import Glibc
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Testing

/// The `skiff` executable, end to end, as a user runs it.
@Suite struct CLITests {
    final class Workspace: Sendable {
        let folder: TemporaryDirectory
        let environment: [String: String]

        init() throws {
            folder = try TemporaryDirectory("skiff-cli")
            environment = ["SKIFF_PASSPHRASE": "correct horse", "SKIFF_CACHE_DIR": folder.appending("cache").description]
            var options = TreeGenerator.Options()
            options.directories = 6
            options.filesPerDirectory = 8
            options.largeFileSizes = [2 << 20]
            try TreeGenerator.generate(at: source, options: options)
        }

        var source: RawPath { folder.appending("data") }
        var repo: String { folder.appending("repo").description }
        var restoreKey: String { folder.appending("restore.key").description }
        var hostKey: String { folder.appending("host.key").description }

        @discardableResult
        func skiff(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CommandResult {
            try await CommandRunner.skiff(arguments, environment: environment.merging(extra) { $1 })
        }

        func initialize() async throws {
            let result = try await skiff(["init", "--repo", repo, "--restore-key", restoreKey, "--host-key", hostKey, "--host", "web1", "--kdf-log-n", "10"])
            #expect(result.status == 0, "\(result)")
        }

        func backup() async throws -> CommandResult {
            try await skiff(["backup", source.description, "--repo", repo, "--host-key", hostKey, "--json"])
        }

        /// Starts `skiff backup` of `path` into the repository as a child process (output
        /// discarded), for tests that kill it or race it.
        func startBackup(of path: RawPath) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandRunner.executable("skiff"))
            process.arguments = ["backup", path.description, "--repo", repo, "--host-key", hostKey]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }

        func restored(_ target: String) -> RawPath { RawPath(bytes: Array(target.utf8) + source.bytes) }

        func remove() { folder.remove() }
    }

    @Test func initBackupListRestoreVerify() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        let backup = try await w.backup()
        #expect(backup.status == 0, "\(backup)")
        let report = try JSONSerialization.jsonObject(with: Data(backup.standardOutput.utf8)) as! [String: Any]
        let id = report["snapshot"] as! String

        let list = try await w.skiff(["snapshots", "--repo", w.repo, "--key", w.hostKey, "--json"])
        #expect(list.status == 0, "\(list)")
        let snapshots = try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as! [[String: Any]]
        #expect(snapshots.count == 1)
        #expect(snapshots[0]["id"] as? String == id)
        #expect(snapshots[0]["host"] as? String == "web1")

        let target = w.folder.appending("out").description
        let restore = try await w.skiff(["restore", String(id.prefix(10)), "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target])
        #expect(restore.status == 0, "\(restore)")
        #expect(try TreeComparison.differences(w.source, w.restored(target)).isEmpty)

        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.standardOutput.contains("no problems found"))
    }

    @Test func errorsHaveTheirDocumentedExitCodes() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)

        let wrongPassphrase = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey], environment: ["SKIFF_PASSPHRASE": "wrong"])
        #expect(wrongPassphrase.status == 5, "\(wrongPassphrase)")
        #expect(wrongPassphrase.standardError.contains("wrong passphrase"))

        let missingPassphraseFile = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey,
                                                 "--passphrase-file", w.folder.appending("no-such-file").description])
        #expect(missingPassphraseFile.status == 5 && missingPassphraseFile.standardError.contains("passphrase file"), "\(missingPassphraseFile)")

        let noRepository = try await w.skiff(["backup", w.source.description, "--repo", w.folder.appending("missing").description, "--host-key", w.hostKey])
        #expect(noRepository.status == 4, "\(noRepository)")

        let hostKeyAsRestoreKey = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.hostKey])
        #expect(hostKeyAsRestoreKey.status == 5, "\(hostKeyAsRestoreKey)")

        let unknownSnapshot = try await w.skiff(["restore", "abcdef123456", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", w.folder.appending("x").description])
        #expect(unknownSnapshot.status == 2, "\(unknownSnapshot)")

        let badUsage = try await w.skiff(["backup", "--no-such-flag"])
        #expect(badUsage.status == 2)

        // Another tenant's repository.
        let other = w.folder.appending("other").description
        #expect(try await w.skiff(["init", "--repo", other, "--restore-key", other + ".rkey", "--host-key", other + ".hkey", "--host", "x", "--kdf-log-n", "10"]).status == 0)
        let wrongTenant = try await w.skiff(["backup", w.source.description, "--repo", other, "--host-key", w.hostKey])
        #expect(wrongTenant.status == 4, "\(wrongTenant)")

        // Corrupt one object: verify and restore both fail with 6 and name it.
        let repository = PackedFolder(w.folder.appending("repo"))
        let name = try repository.objectNames().sorted()[0]
        try repository.flipByte(name, at: try repository.place(name).length - 1, mask: 0xff)
        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey])
        #expect(verify.status == 6, "\(verify)")
        #expect(verify.standardOutput.contains(name))
        let restore = try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", w.folder.appending("r").description])
        #expect(restore.status == 6 || restore.standardError.contains(name), "\(restore)")
    }

    @Test func aFullDiskFailsCleanlyAndLosesNothing() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)
        // A second, bigger data set that cannot fit under a 1 MiB file-size limit: writes past it
        // fail with EFBIG, which is how a full medium looks to the store.
        var random = SeededRandom(seed: 5)
        try TreeGenerator.write(random.bytes(3 << 20), to: w.source.appending("too-big.bin"))
        let script = "ulimit -f 1024; exec \"$0\" \"$@\""
        let full = try await CommandRunner.run("/bin/bash", ["-c", script, CommandRunner.executable("skiff"), "backup", w.source.description, "--repo", w.repo, "--host-key", w.hostKey],
                                         environment: w.environment)
        #expect(full.status == 7, "\(full)")
        #expect(full.standardError.contains("no space"), "\(full)")
        let tmp = try FileIO.directoryEntries(w.folder.appending("repo/tmp"))
        #expect(tmp.isEmpty, "no partial object may remain: \(tmp.count) temporary files")
        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey])
        #expect(verify.status == 0, "\(verify)")
        // With room again, the next backup succeeds and reuses what was stored.
        #expect(try await w.backup().status == 0)
    }

    @Test func aKilledBackupResumesWithoutLoss() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        var random = SeededRandom(seed: 6)
        for i in 0..<6 { try TreeGenerator.write(random.bytes(24 << 20), to: w.source.appending("big\(i).bin")) }
        let process = try w.startBackup(of: w.source)
        usleep(400_000)  // blocks on purpose: timing a kill, a starved Task.sleep would wake late
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resumed = try await w.backup()
        #expect(resumed.status == 0, "\(resumed)")
        let target = w.folder.appending("out").description
        #expect(try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target]).status == 0)
        #expect(try TreeComparison.differences(w.source, w.restored(target)).isEmpty)
        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey])
        #expect(verify.status == 0, "\(verify)")
    }

    @Test func thePaperKeyRoundTrips() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        let paper = try await w.skiff(["key", "export", "--paper", "--restore-key", w.restoreKey])
        #expect(paper.status == 0)
        let paperFile = w.folder.appending("paper.txt")
        try TreeGenerator.write(Array(paper.standardOutput.utf8), to: paperFile)
        let imported = w.folder.appending("imported.key").description
        let result = try await w.skiff(["key", "import", "--paper", paperFile.description, "--out", imported])
        #expect(result.status == 0, "\(result)")
        #expect(try await w.backup().status == 0)
        #expect(try await w.skiff(["verify", "--repo", w.repo, "--restore-key", imported]).status == 0)
        let inspect = try await w.skiff(["key", "inspect", w.hostKey, "--json"])
        #expect(inspect.standardOutput.contains("\"host\" : \"web1\""), "\(inspect)")
    }

    @Test func aRestoreKeyIsRewrappedAtAnotherCostAndStillOpens() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)
        let phrase = w.folder.appending("new-phrase")
        try TreeGenerator.write(Array("another phrase\n".utf8), to: phrase)
        let before = try FileIO.readFile(RawPath(w.restoreKey))
        let refused = try await w.skiff(["key", "passwd", "--restore-key", w.restoreKey, "--new-passphrase-file", phrase.description, "--kdf-log-n", "30"])
        #expect(refused.status == 2 && refused.standardError.contains("--kdf-log-n"), "\(refused)")
        #expect(try FileIO.readFile(RawPath(w.restoreKey)) == before, "a refused change must leave the key file as it was")
        let changed = try await w.skiff(["key", "passwd", "--restore-key", w.restoreKey, "--new-passphrase-file", phrase.description, "--kdf-log-n", "11"])
        #expect(changed.status == 0, "\(changed)")
        let inspect = try await w.skiff(["key", "inspect", w.restoreKey])
        #expect(inspect.standardOutput.contains("N=2^11"), "\(inspect)")
        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey], environment: ["SKIFF_PASSPHRASE": "another phrase"])
        #expect(verify.status == 0, "\(verify)")
    }
}
