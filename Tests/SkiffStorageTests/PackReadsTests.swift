import Glibc
import Synchronization
import SkiffCore
import SkiffStorage
import SkiffStorageConformance
import SkiffSystem
import SkiffTestSupport
import Testing

/// How a packed store reads: many objects in few reads, links from the index instead of the
/// packs, pack sizes that fit the read windows, and the windows kept on a site's disk.
@Suite struct PackReadsTests {
    static let arrayBuffer = CollectableStoreConformance.arrayBuffer

    @Test func packsNeverPassTheirTargetSize() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let store = try await PackedStoreTests.folderStore(folder)
        _ = try await PackedStoreTests.storeChunks(120, size: 5000, in: store, try ConformanceFixture())
        let files = try PackedStoreTests.packFiles(folder)
        #expect(files.count >= 8)
        for file in files { #expect(try FileIO.readFile(file).count <= PackedStoreTests.smallPacks) }
    }

    @Test func neighbouringObjectsOfAPackAreReadInOneSpan() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let store = try await PackedStoreTests.folderStore(folder)
        let objects = try await PackedStoreTests.storeChunks(120, size: 5000, in: store, try ConformanceFixture())
        let packs = try PackedStoreTests.packFiles(folder).count
        var spans = 0
        var delivered = 0
        let absent = try await store.readSpans(objects.shuffled().map { StoreKey.object($0.address) }, into: Self.arrayBuffer) { span in
            spans += 1
            delivered += span.values.count
            return true
        }
        #expect(absent.isEmpty && delivered == objects.count)
        // Every object of a pack is asked for: one read per pack, whatever the order asked.
        #expect(spans == packs)
    }

    @Test func linksComeFromTheIndexAndFromHeadersWhereTheIndexWasRebuilt() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        let store = try await PackedStoreTests.folderStore(folder)
        let root = try await fixture.storeSnapshot(in: store, host: "h")
        let chunk = try fixture.chunk()
        _ = try await store.put(.object(chunk.address), chunk.bytes)
        try await store.flush()
        let expected = ObjectLinks(try ObjectHeader.parse(try await store.get(.object(root))))
        #expect(expected.kind == .snapshot && !expected.children.isEmpty && expected.sessionKey != nil)
        #expect(try await store.knownLinks(of: [root, chunk.address]) == [.known(expected), .known(ObjectLinks(kind: .chunk, children: [], sessionKey: fixture.sessionKeyObject.address))])

        try FileIO.removeTree(folder.appending("store/index"))
        let rebuilt = try await PackedStoreTests.folderStore(folder)
        #expect(try await rebuilt.knownLinks(of: [root]) == [.unknown])
        let missing = try fixture.chunk(size: 5).address
        let links = try await Repository(store: rebuilt, location: "rebuilt").objectLinks([root, missing])
        #expect(try links[0].get() == expected)
        guard case .failure(.missing(missing)) = links[1] else {
            Issue.record("a missing object must be reported missing, got \(links[1])")
            return
        }
    }

    /// A fetch counter: which windows were fetched how often.
    final class Fetches: Sendable {
        let counts = Mutex<[Int: Int]>([:])
        func fetch(_ number: Int) -> @Sendable () async throws -> [UInt8] {
            { [self] in
                counts.withLock { $0[number, default: 0] += 1 }
                return [UInt8](repeating: UInt8(number), count: 1000)
            }
        }
        func count(_ number: Int) -> Int { counts.withLock { $0[number] ?? 0 } }
    }

    @Test(arguments: [false, true])
    func windowsAreFetchedOnceAndTheLeastRecentlyUsedGoFirst(onDisk: Bool) async throws {
        let folder = try TemporaryDirectory("skiff-windows")
        defer { folder.remove() }
        let windows = onDisk ? try PackWindows(folder: folder.appending("cache"), budget: 3000) : PackWindows(budget: 3000)
        let name = PackName.new(startedAt: 1)
        let fetches = Fetches()
        func read(_ number: Int) async throws -> [UInt8] {
            try await windows.bytes(PackWindows.Key(prefix: "t", name: name, number: number), 10..<20, fetch: fetches.fetch(number)).bytes
        }
        // Readers of one window at once share one fetch.
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 { group.addTask { try await read(1) } }
            for try await bytes in group { #expect(bytes == [UInt8](repeating: 1, count: 10)) }
        }
        #expect(fetches.count(1) == 1)
        _ = try await read(2)
        _ = try await read(1)
        _ = try await read(3)
        _ = try await read(4)  // over the budget: 2 is the least recently used
        _ = try await read(1)
        #expect(fetches.count(1) == 1)
        _ = try await read(2)
        #expect(fetches.count(2) == 2)
        if onDisk {
            // Three windows of 1000 bytes at most in files.
            let files = try FileIO.directoryEntries(folder.appending("cache"))
            #expect(files.count <= 3)
        }
    }

    @Test func aWindowsFolderIsEmptiedWhenOpened() async throws {
        let folder = try TemporaryDirectory("skiff-windows")
        defer { folder.remove() }
        let cache = folder.appending("cache")
        try FileIO.makeDirectories(cache)
        try FileIO.writeFile(cache.appending("left-over"), [1, 2, 3])
        let windows = try PackWindows(folder: cache)
        #expect(try FileIO.directoryEntries(cache).isEmpty)
        windows.discard()
        #expect(!FileIO.exists(cache))
    }
}
