import Glibc
import SkiffBackup
import SkiffCore
import SkiffRestore
import SkiffSystem
import SkiffTestSupport
import Testing

@Suite struct RoundTripTests {
    @Test func aGeneratedTreeRestoresByteForByte() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        var options = TreeGenerator.Options()
        options.directories = 80
        options.filesPerDirectory = 40
        options.largeFileSizes = [1, 5 << 20, 200 << 20]
        let fileCount = try TreeGenerator.generate(at: fixture.source, options: options)
        #expect(fileCount > 3000)

        let result = try await fixture.backup()
        #expect(result.warnings.isEmpty)
        #expect(result.statistics.filesSeen == fileCount)

        let target = fixture.folder.appending("restore")
        let report = try await fixture.restore(result.seal, to: target)
        #expect(report.isComplete, "\(report.notRestored)")
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(20))")

        let verification = try await fixture.verify()
        #expect(verification.isClean, "\(verification.findings)")
        #expect(verification.unreferencedObjects == 0)
    }

    @Test func aSecondBackupStoresOnlyTheChangeAndThePathAboveIt() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try fixture.generateSmallFiles()
        let first = try await fixture.backup()

        // Change one small file 12 directories down.
        var deep = fixture.source
        for level in 0..<12 { deep = deep.appending("level\(level)") }
        try TreeGenerator.write(Array("changed\n".utf8), to: deep.appending("deep.txt"))
        let second = try await fixture.backup()
        let s = second.statistics
        let depth = deep.components.count + 1  // tree nodes from "/" down to the changed file's folder
        #expect(s.filesRead == 1, "unchanged files must not be read again")
        #expect(s.filesUnchanged == first.statistics.filesSeen - 1)
        #expect(s.chunksNew == 1)
        #expect(s.nodesNew == depth, "expected exactly the \(depth) tree nodes on the path, got \(s.nodesNew)")
        // One chunk, the path's tree nodes, the snapshot, the session key: nothing else.
        #expect(s.objectsStored == 1 + depth + 2)
        #expect(second.seal.previous == first.seal.hash)
        #expect(second.seal.sequence == 2)

        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(second.seal, to: target)
        #expect(try TreeComparison.differences(fixture.source, fixture.restored(target)).isEmpty)
    }

    /// Rule W6: content that comes back is reused only if the host saw it within its reuse
    /// horizon (a site may have collected what no kept seal reached for longer).
    @Test func reappearingContentIsReusedOnlyWithinTheReuseHorizon() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        let content = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        try FileIO.makeDirectories(fixture.source)
        try TreeGenerator.write(content, to: fixture.source.appending("a.bin"))
        _ = try await fixture.backup()
        try FileIO.remove(fixture.source.appending("a.bin"))
        try TreeGenerator.write(Array("other\n".utf8), to: fixture.source.appending("b.txt"))
        _ = try await fixture.backup()

        // Within the horizon (the default): the chunks of a.bin are reused.
        try TreeGenerator.write(content, to: fixture.source.appending("c.bin"))
        let reused = try await fixture.backup()
        #expect(reused.statistics.chunksNew == 0 && reused.statistics.filesRead == 1, "\(reused.statistics)")

        // Outside it (a horizon of 0 s: nothing seen before this second counts): stored again.
        try await Task.sleep(for: .milliseconds(1100))
        try TreeGenerator.write(content, to: fixture.source.appending("d.bin"))
        var options = BackupOptions()
        options.reuseHorizonSeconds = 0
        let stale = try await fixture.backup(options: options)
        #expect(stale.statistics.chunksNew > 0, "\(stale.statistics)")
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(stale.seal, to: target)
        #expect(try TreeComparison.differences(fixture.source, fixture.restored(target)).isEmpty)
    }

    @Test func aSmallEditInsideAHugeFileRewritesLittle() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source)
        var random = SeededRandom(seed: 77)
        var content = random.bytes(64 << 20)
        let file = fixture.source.appending("disk.img")
        try TreeGenerator.write(content, to: file)
        let first = try await fixture.backup()
        for i in 0..<4096 { content[30 << 20 + i] = 0xee }
        try TreeGenerator.write(content, to: file)
        let second = try await fixture.backup()
        #expect(second.statistics.chunksNew <= 2, "a 4 KiB edit must rewrite at most the chunks around it")
        #expect(second.statistics.bytesStored < 12 << 20)
        #expect(first.statistics.chunksNew > 20)
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(second.seal, to: target)
        #expect(try FileIO.readFile(fixture.restored(target, file)) == content)
    }

    @Test func sparseFilesKeepTheirHoles() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source)
        let file = fixture.source.appending("sparse.img")
        let fd = try FileIO.open(file, flags: O_WRONLY | O_CREAT, mode: 0o644)
        let data = [UInt8](repeating: 0x5a, count: 8192)
        try data.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 50 << 20, path: "sparse") }
        #expect(ftruncate(fd, 200 << 20) == 0)
        close(fd)
        let result = try await fixture.backup()
        #expect(result.statistics.bytesRead < 1 << 20, "holes must not be read")
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(result.seal, to: target)
        let restored = fixture.restored(target, file)
        let status = try FileStatus.lstat(restored)
        #expect(status.size == 200 << 20)
        #expect(status.blocks * 512 < 1 << 20, "the restored file must stay sparse (\(status.blocks) blocks)")
        #expect(try FileIO.readFile(restored) == FileIO.readFile(file))
    }

    @Test func aSubPathRestoresAlone() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try fixture.generateSmallFiles()
        let result = try await fixture.backup()
        let target = fixture.folder.appending("restore")
        let sub = fixture.source.appending("dir0")
        _ = try await fixture.restore(result.seal, to: target, subPath: sub)
        #expect(try TreeComparison.differences(sub, fixture.restored(target, sub)).isEmpty)
        #expect(!FileIO.exists(fixture.restored(target, fixture.source.appending("names"))))
    }

    @Test func excludedEntriesAreSkipped() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source.appending("keep"))
        try FileIO.makeDirectories(fixture.source.appending("cache"))
        try TreeGenerator.write(Array("Signature: 8a477f597d28d172789f06886806bc55\n".utf8), to: fixture.source.appending("cache/CACHEDIR.TAG"))
        try TreeGenerator.write([1], to: fixture.source.appending("cache/junk"))
        try TreeGenerator.write([1], to: fixture.source.appending("keep/a.log"))
        try TreeGenerator.write([2], to: fixture.source.appending("keep/b.txt"))
        var options = BackupOptions()
        options.excludes = ["*.log"]
        options.excludeCaches = true
        let result = try await fixture.backup(options: options)
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(result.seal, to: target)
        #expect(FileIO.exists(fixture.restored(target, fixture.source.appending("keep/b.txt"))))
        #expect(!FileIO.exists(fixture.restored(target, fixture.source.appending("keep/a.log"))))
        #expect(FileIO.exists(fixture.restored(target, fixture.source.appending("cache/CACHEDIR.TAG"))))
        #expect(!FileIO.exists(fixture.restored(target, fixture.source.appending("cache/junk"))))
    }

    @Test func aCacheThatDoesNotMatchTheRepositoryIsCleared() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source)
        var random = SeededRandom(seed: 1)
        try TreeGenerator.write(random.bytes(10_000), to: fixture.source.appending("a"))
        _ = try await fixture.backup()
        // The repository is replaced by an empty one (rolled back, or a new disk).
        try FileIO.removeTree(fixture.repoPath.appending("objects"))
        try FileIO.removeTree(fixture.repoPath.appending("seals"))
        let second = try await fixture.backup()
        #expect(second.statistics.filesRead == 1, "a stale cache must not be trusted")
        #expect(second.seal.sequence == 1)
        #expect(try await fixture.verify().isClean)
    }
}
