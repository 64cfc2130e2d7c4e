import Glibc
import SkiffCore
import SkiffRestore
import SkiffSystem
import SkiffTestSupport
import Testing

@Suite struct TreeDifferTests {
    /// Changes `path` with `change` and then gives it back its modification time, so that
    /// only the change itself differs from the snapshot.
    static func keepingTimes(_ path: RawPath, _ change: () throws -> Void) throws {
        let before = try FileStatus.lstat(path)
        try change()
        var times = [timespec(tv_sec: Int(before.modificationSeconds), tv_nsec: Int(before.modificationNanoseconds)),
                     timespec(tv_sec: Int(before.modificationSeconds), tv_nsec: Int(before.modificationNanoseconds))]
        #expect(path.withCString { utimensat(AT_FDCWD, $0, &times, 0) } == 0)
    }

    static func write(_ byte: UInt8, into path: RawPath, at offset: Int) throws {
        let fd = try FileIO.open(path, flags: O_WRONLY)
        defer { close(fd) }
        try [byte].withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: Int64(offset), path: path.description) }
    }

    /// Without read-ahead (local repositories) and with it (sites: files compared in groups,
    /// chunks read ahead), the same differences in the same order.
    @Test(arguments: [0, 1 << 20])
    func anExactRestoreHasNoDifferencesAndEachChangeIsNamedInSnapshotOrder(readAheadBytes: Int) async throws {
        let fixture = try BackupFixture("skiff-diff")
        defer { fixture.remove() }
        var random = SeededRandom(seed: 8)
        let source = fixture.source
        try FileIO.makeDirectories(source.appending("c-dir"))
        try TreeGenerator.write(random.bytes(12 << 20), to: source.appending("a-big.bin"))
        let sparse = source.appending("b-sparse.img")
        try TreeGenerator.write([], to: sparse)
        try Self.write(0x5a, into: sparse, at: 4 << 20)
        #expect(truncate(sparse.description, 16 << 20) == 0)
        for i in 0..<40 { try TreeGenerator.write(random.text(3000 + i), to: source.appending("c-dir/file-\(i < 10 ? "0" : "")\(i)")) }
        try TreeGenerator.write(random.text(100), to: source.appending("d-small.txt"))
        let result = try await fixture.backup()
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(result.seal, to: target)
        let root = try await fixture.reader().snapshot(result.seal.root).root
        func differences() async throws -> [String] {
            var options = TreeDiffer.Options()
            options.readAheadBytes = readAheadBytes
            return try await TreeDiffer(reader: fixture.reader(), options: options).differences(root: root, subPath: nil, directory: target)
        }
        #expect(try await differences() == [])

        let restored = fixture.restored(target)
        let flipped = (11 << 20) + 5
        try Self.keepingTimes(restored.appending("a-big.bin")) { try Self.write(0, into: restored.appending("a-big.bin"), at: flipped) }
        try Self.keepingTimes(restored.appending("b-sparse.img")) { try Self.write(1, into: restored.appending("b-sparse.img"), at: (10 << 20) + 100) }
        #expect(chmod(restored.appending("c-dir/file-07").description, 0o600) == 0)
        try Self.keepingTimes(restored.appending("c-dir/file-20")) { try Self.write(0, into: restored.appending("c-dir/file-20"), at: 0) }
        #expect(unlink(restored.appending("d-small.txt").description) == 0)
        try TreeGenerator.write([1], to: restored.appending("c-dir/zz-extra"))

        let found = try await differences()
        let shown = source.description
        #expect(found.count == 6, "\(found)")
        guard found.count == 6 else { return }
        // The chunk that holds the changed byte: it starts at most one chunk (4 MiB) before it.
        let prefix = "\(shown)/a-big.bin: content differs at offset "
        #expect(found[0].hasPrefix(prefix), "\(found[0])")
        let offset = Int(found[0].dropFirst(prefix.count)) ?? -1
        #expect(offset <= flipped && flipped < offset + (4 << 20), "\(found[0])")
        #expect(Array(found[1...]) == [
            "\(shown)/b-sparse.img: data where the snapshot has a hole at offset \((10 << 20) + 100)",
            "\(shown)/c-dir/file-07: mode 600, the snapshot has 644",
            "\(shown)/c-dir/file-20: content differs at offset 0",
            "\(shown)/d-small.txt: missing",
            "\(shown)/c-dir/zz-extra: not in the snapshot",
        ])
    }
}
