import Foundation
import Glibc
import SkiffSystem
import SkiffTestSupport
import Testing

/// `skiff prune`, end to end: each test starts from a clean replica, damages it as interrupted
/// backups do (SIGKILL), and ends with `skiff verify` clean and a byte-identical restore.
@Suite struct PruneCommandTests {
    typealias Workspace = CLITests.Workspace

    /// The repository's objects (hex addresses), from its pack index.
    static func objectFiles(_ w: Workspace) throws -> Set<String> {
        try PackedFolder(w.folder.appending("repo")).objectNames()
    }

    static func json(_ result: CommandResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))) as? [String: Any] ?? [:]
    }

    /// A clean replica of the workspace's source; then backups of a second folder (144 MiB),
    /// each killed with SIGKILL once it appended `progress` bytes (one value per backup) to the
    /// packs: what they appended after their last flush is garbage in packs no index row
    /// names. (Progress, not time: an idle machine backs the folder up in under half a second.) Then a backup of that folder that is
    /// "killed" after its last flush and before its seal (its seal file is removed): its objects
    /// are durable and no seal reaches them. Returns the sealed objects and those leftovers.
    static func killedBackups(_ w: Workspace, progress: [Int]) async throws -> (sealed: Set<String>, leftovers: Set<String>) {
        try await w.initialize()
        #expect(try await w.backup().status == 0)
        let sealed = try objectFiles(w)
        let more = w.folder.appending("more")
        try FileIO.makeDirectories(more)
        var random = SeededRandom(seed: 9)
        for i in 0..<6 { try TreeGenerator.write(random.bytes(24 << 20), to: more.appending("big\(i).bin")) }
        for bytes in progress {
            let before = try packBytes(w)
            let process = try w.startBackup(of: more)
            while try packBytes(w) < before + bytes && process.isRunning {
                usleep(500)  // blocks on purpose: watching for the moment to kill
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "the backup finished before it was killed")
        }
        let unsealed = try await w.skiff(["backup", more.description, "--repo", w.repo, "--host-key", w.hostKey])
        #expect(unsealed.status == 0, "\(unsealed)")
        let seals = w.folder.appending("repo/seals/web1")
        let newest = try #require(try FileIO.directoryEntries(seals).map { String(decoding: $0, as: UTF8.self) }.sorted().last)
        try FileIO.remove(seals.appending(newest))
        let leftovers = try objectFiles(w).subtracting(sealed)
        #expect(!leftovers.isEmpty)
        return (sealed, leftovers)
    }

    /// Bytes of the repository's pack files.
    static func packBytes(_ w: Workspace) throws -> Int {
        let packs = w.folder.appending("repo/packs")
        var total = 0
        for fan in try FileIO.directoryEntries(packs) {
            for name in try FileIO.directoryEntries(packs.appending(fan)) {
                var st = stat()
                _ = packs.appending(fan).appending(name).withCString { stat($0, &st) }
                total += Int(st.st_size)
            }
        }
        return total
    }

    /// `skiff verify --json`: exit 0, no finding, `unreferenced` objects no seal reaches.
    static func expectVerified(_ w: Workspace, unreferenced: Int) async throws {
        let verify = try await w.skiff(["verify", "--repo", w.repo, "--restore-key", w.restoreKey, "--json"])
        #expect(verify.status == 0, "\(verify)")
        #expect(json(verify)["unreferencedObjects"] as? Int == unreferenced, "\(verify.standardOutput)")
        #expect((json(verify)["findings"] as? [Any])?.isEmpty == true)
    }

    /// The newest snapshot restores the workspace's source byte for byte.
    static func expectRestored(_ w: Workspace) async throws {
        let target = w.folder.appending("out-\(UInt32.random(in: 0...UInt32.max))").description
        let restore = try await w.skiff(["restore", "latest", "--repo", w.repo, "--restore-key", w.restoreKey, "--to", target])
        #expect(restore.status == 0, "\(restore)")
        #expect(try TreeComparison.differences(w.source, w.restored(target)).isEmpty)
    }

    @Test func killedBackupsLeaveObjectsThatPruneRemovesAndOnlyThose() async throws {
        let w = try Workspace()
        defer { w.remove() }
        let (sealed, leftovers) = try await Self.killedBackups(w, progress: [16 << 20, 40 << 20, 64 << 20])
        try await Self.expectVerified(w, unreferenced: leftovers.count)

        let sealedBytes = try sealed.reduce(0) { $0 + (try PackedFolder(w.folder.appending("repo")).place($1).length) }
        #expect(try Self.packBytes(w) > sealedBytes + 24 << 20, "the killed and the unsealed backups left garbage in packs")
        let prune = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s", "--json"])
        #expect(prune.status == 0, "\(prune)")
        let report = Self.json(prune)
        #expect(report["deletedObjects"] as? Int == leftovers.count, "\(prune.standardOutput)")
        #expect(report["reachable"] as? Int == sealed.count && report["dryRun"] as? Bool == false)
        #expect(try Self.objectFiles(w) == sealed)
        // What is left on disk is the sealed objects, their record headers and pack trailers.
        let packBytes = try Self.packBytes(w)
        #expect(packBytes < sealedBytes + sealed.count * 100 + 4096, "\(packBytes) bytes of packs for \(sealedBytes)")
        try await Self.expectVerified(w, unreferenced: 0)
        try await Self.expectRestored(w)

        let again = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"])
        #expect(again.status == 0 && again.standardOutput.contains("deleted 0 objects"), "\(again)")
    }

    @Test func objectsYoungerThanTheGracePeriodAreKept() async throws {
        let w = try Workspace()
        defer { w.remove() }
        let (sealed, leftovers) = try await Self.killedBackups(w, progress: [32 << 20])
        let young = try await w.skiff(["prune", "--repo", w.repo, "--json"])
        #expect(young.status == 0, "\(young)")
        #expect(Self.json(young)["deletedObjects"] as? Int == 0 && Self.json(young)["keptYoung"] as? Int == leftovers.count, "\(young.standardOutput)")
        #expect(try Self.objectFiles(w) == sealed.union(leftovers))

        let aged = Set(leftovers.sorted().prefix((leftovers.count + 1) / 2))
        try PackedFolder(w.folder.appending("repo")).age(aged, by: 2 * 86_400)
        let prune = try await w.skiff(["prune", "--repo", w.repo, "--grace", "1d", "--json"])
        #expect(prune.status == 0, "\(prune)")
        #expect(Self.json(prune)["deletedObjects"] as? Int == aged.count, "\(prune.standardOutput)")
        #expect(Self.json(prune)["keptYoung"] as? Int == leftovers.count - aged.count)
        #expect(try Self.objectFiles(w) == sealed.union(leftovers.subtracting(aged)))
        try await Self.expectVerified(w, unreferenced: leftovers.count - aged.count)
        try await Self.expectRestored(w)
    }

    @Test func aDryRunChangesNothing() async throws {
        let w = try Workspace()
        defer { w.remove() }
        let (sealed, leftovers) = try await Self.killedBackups(w, progress: [32 << 20])
        // One object in the trash, as a killed prune leaves it.
        let trashed = leftovers.sorted()[0]
        #expect(try PackedFolder(w.folder.appending("repo")).trash(trashed))
        let before = try Self.listing(w.folder.appending("repo"))
        let indexedBefore = try PackedFolder(w.folder.appending("repo")).objects().map { "\($0.hex) \($0.size)" }

        let dry = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry)")
        let report = Self.json(dry)
        #expect(report["dryRun"] as? Bool == true && report["deletedObjects"] as? Int == leftovers.count - 1, "\(dry.standardOutput)")
        #expect(report["recovered"] as? Int == 1)
        #expect(try Self.listing(w.folder.appending("repo")) == before, "a dry run must not change the repository")
        #expect(try PackedFolder(w.folder.appending("repo")).objects().map { "\($0.hex) \($0.size)" } == indexedBefore)

        let prune = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s", "--json"])
        #expect(Self.json(prune)["deletedObjects"] as? Int == leftovers.count && Self.json(prune)["recovered"] as? Int == 1, "\(prune)")
        #expect(try Self.objectFiles(w) == sealed)
        try await Self.expectVerified(w, unreferenced: 0)
        try await Self.expectRestored(w)
    }

    /// Every file below `root` (but the lock file, and the pack index, which SQLite may touch
    /// when a connection opens or closes: tests compare its rows instead), with size and
    /// modification time.
    static func listing(_ root: RawPath) throws -> [String] {
        var out: [String] = []
        var folders = [root]
        while let folder = folders.popLast() {
            for (name, isDirectory) in try FileIO.directoryEntriesWithTypes(folder) {
                let path = folder.appending(name)
                if isDirectory { folders.append(path); continue }
                guard name != Array("lock".utf8), !name.starts(with: "packs.sqlite".utf8) else { continue }
                var st = stat()
                _ = path.withCString { lstat($0, &st) }
                out.append("\(path) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)")
            }
        }
        return out.sorted()
    }

    /// Real processes: prunes with no grace period, one after another, while a backup runs.
    /// Each either finishes or refuses (11); the backup seals; nothing is lost.
    @Test func prunesRacingABackupProcessLoseNothing() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)
        var random = SeededRandom(seed: 12)
        for i in 0..<4 { try TreeGenerator.write(random.bytes(24 << 20), to: w.source.appending("grown\(i).bin")) }
        let process = try w.startBackup(of: w.source)
        // Prunes start once the backup holds the repository's lock (shared), so that at least
        // the first meets it however slowly this machine starts processes.
        let lock = open("\(w.repo)/lock", O_RDONLY | O_CREAT, 0o600)
        defer { close(lock) }
        while process.isRunning, flock(lock, LOCK_EX | LOCK_NB) == 0 {
            flock(lock, LOCK_UN)
            usleep(5_000)  // blocks on purpose: timing a race, a starved Task.sleep would wake late
        }
        var outcomes: [Int32: Int] = [:]
        // The first prune meets the backup for certain: the backup is held still (SIGSTOP, its
        // lock kept) while it runs. Under a loaded machine a prune's start-up could otherwise
        // outlast the backup.
        if process.isRunning, kill(process.processIdentifier, SIGSTOP) == 0 {
            let prune: CommandResult
            do {
                prune = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"])
            } catch {
                kill(process.processIdentifier, SIGCONT)
                throw error
            }
            kill(process.processIdentifier, SIGCONT)
            outcomes[prune.status, default: 0] += 1
            #expect(prune.status == 11 && prune.standardError.contains("in use by a backup"), "\(prune)")
        }
        while process.isRunning {
            let prune = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"])
            outcomes[prune.status, default: 0] += 1
            if prune.status == 11 { #expect(prune.standardError.contains("in use by a backup"), "\(prune)") }
            #expect(prune.status == 0 || prune.status == 11, "\(prune)")
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(outcomes[11, default: 0] > 0, "no prune ran into the backup: \(outcomes)")
        #expect(try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"]).status == 0)
        try await Self.expectVerified(w, unreferenced: 0)
        try await Self.expectRestored(w)
    }

    @Test func pruneHasItsDocumentedExitCodes() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)

        #expect(try await w.skiff(["prune", "--repo", w.repo, "--grace", "soon"]).status == 2)
        #expect(try await w.skiff(["prune", "--repo", w.repo, "--no-such-flag"]).status == 2)
        let missing = try await w.skiff(["prune", "--repo", w.folder.appending("missing").description])
        #expect(missing.status == 4, "\(missing)")
        let help = try await w.skiff(["prune", "--help"])
        #expect(help.status == 0 && help.standardOutput.contains("11"), "\(help)")

        // A backup holds the lock (shared): prune refuses with 11 and deletes nothing.
        let lockFile = w.folder.appending("repo/lock")
        let fd = try FileIO.open(lockFile, flags: O_RDONLY | O_CREAT, mode: 0o644)
        #expect(flock(fd, LOCK_SH) == 0)
        let busy = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"])
        #expect(busy.status == 11 && busy.standardError.contains("in use"), "\(busy)")
        close(fd)
        #expect(try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"]).status == 0)

        // An object a snapshot reaches is missing: 6, and nothing is deleted.
        let objects = try Self.objectFiles(w)
        let victim = objects.sorted()[0]
        try PackedFolder(w.folder.appending("repo")).remove(victim)
        let damaged = try await w.skiff(["prune", "--repo", w.repo, "--grace", "0s"])
        #expect(damaged.status == 6 && damaged.standardError.contains("skiff verify"), "\(damaged)")
        #expect(try Self.objectFiles(w) == objects.subtracting([victim]))
    }

    /// A damaged pack index is rebuilt from the packs alone: the same objects, and the
    /// repository verifies and restores.
    @Test func reindexRebuildsTheIndexFromThePacks() async throws {
        let w = try Workspace()
        defer { w.remove() }
        try await w.initialize()
        #expect(try await w.backup().status == 0)
        let objects = try Self.objectFiles(w)
        let index = w.folder.appending("repo/index/packs.sqlite")
        try TreeGenerator.write(Array("not a database".utf8), to: index)
        for suffix in ["-wal", "-shm"] { try? FileIO.remove(RawPath(index.description + suffix)) }
        let reindex = try await w.skiff(["reindex", "--repo", w.repo, "--json"])
        #expect(reindex.status == 0, "\(reindex)")
        #expect(Self.json(reindex)["objects"] as? Int == objects.count, "\(reindex.standardOutput)")
        #expect(try Self.objectFiles(w) == objects)
        try await Self.expectVerified(w, unreferenced: 0)
        try await Self.expectRestored(w)
    }
}
