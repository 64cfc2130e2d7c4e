import Glibc
import SkiffCore
import SkiffStorage
import SkiffStorageConformance
import SkiffSystem
import SkiffTestSupport
import Testing

@Suite struct FileSystemStoreTests {
    @Test(arguments: ObjectStoreConformance.checks)
    func conformance(_ check: ConformanceCheck) async throws {
        let folder = try TemporaryDirectory("skiff-store")
        defer { folder.remove() }
        try await check.run(try FileSystemStore.create(at: folder.appending("store")), try ConformanceFixture())
    }

    @Test(arguments: CollectableStoreConformance.checks)
    func siteStoreConformance(_ check: SiteStoreCheck) async throws {
        let folder = try TemporaryDirectory("skiff-store")
        defer { folder.remove() }
        try await check.run(try FileSystemStore.create(at: folder.appending("store")), try ConformanceFixture())
    }

    @Test func objectsFanOutAndAreReadOnlyFiles() async throws {
        let folder = try TemporaryDirectory("skiff-store")
        defer { folder.remove() }
        let store = try FileSystemStore.create(at: folder.path)
        let address = ObjectAddress(Digest256(bytes: [0xab] + [UInt8](repeating: 1, count: 31)))
        _ = try await store.put(.object(address), [1, 2, 3])
        let file = folder.path.appending("objects/ab/\(address.hex)")
        let status = try FileStatus.lstat(file)
        #expect(status.isRegular)
        #expect(status.permissions == 0o444)
    }

    @Test func temporaryFilesAreNeverListedAndStaleOnesAreRemoved() async throws {
        let folder = try TemporaryDirectory("skiff-store")
        defer { folder.remove() }
        let store = try FileSystemStore.create(at: folder.path)
        // A writer killed mid-put leaves a temporary file behind.
        try TreeGenerator.write([1, 2, 3], to: folder.path.appending("tmp/123-456.tmp"))
        #expect(try await store.list(prefix: "", after: nil, limit: 100).isEmpty)
        try store.removeStaleTemporaryFiles(olderThan: 3600)
        #expect(FileIO.exists(folder.path.appending("tmp/123-456.tmp")), "a young temporary file may belong to a put in progress")
        try store.removeStaleTemporaryFiles(olderThan: 0)
        #expect(!FileIO.exists(folder.path.appending("tmp/123-456.tmp")))
    }

    @Test(arguments: ["", "/abs", "a//b", "../x", "a/../b", "a/./b", "a b", "tmp\u{0}x", "ü"])
    func unsafeKeysAreRejected(_ key: String) {
        #expect(throws: StoreError.invalidKey(key)) { _ = try StoreKey(key) }
    }

    @Test func aMissingStoreFolderIsUnavailable() {
        #expect(throws: StoreError.self) { _ = try FileSystemStore(root: RawPath("/nonexistent/skiff-\(getpid())")) }
    }
}
