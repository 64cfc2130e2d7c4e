import Glibc
import Synchronization
import SkiffCore
import SkiffStorage
import SkiffStorageConformance
import SkiffSystem
import SkiffTestSupport
import Testing

@Suite struct PackedStoreTests {
    /// Small packs, so that the suites cross pack boundaries.
    static let smallPacks = 1 << 16

    static func folderStore(_ folder: TemporaryDirectory, target: Int = smallPacks) async throws -> PackedStore {
        try await PackedStore.open(folder: try FileSystemStore.create(at: folder.appending("store")), targetPackSize: target)
    }

    static func memoryStore(target: Int = smallPacks, clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) throws -> PackedStore {
        let memory = MemoryStore()
        return PackedStore(inner: memory, shelf: StorePackShelf(store: memory), index: try PackIndex(path: nil), targetPackSize: target,
                           clock: clock)
    }

    @Test(arguments: ObjectStoreConformance.checks)
    func conformanceInAFolder(_ check: ConformanceCheck) async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        try await check.run(try await Self.folderStore(folder), try ConformanceFixture())
    }

    @Test(arguments: CollectableStoreConformance.checks)
    func collectableConformanceInAFolder(_ check: SiteStoreCheck) async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        try await check.run(try await Self.folderStore(folder), try ConformanceFixture())
    }

    @Test(arguments: ObjectStoreConformance.checks)
    func conformanceOnAnObjectStore(_ check: ConformanceCheck) async throws {
        try await check.run(try Self.memoryStore(), try ConformanceFixture())
    }

    @Test(arguments: CollectableStoreConformance.checks)
    func collectableConformanceOnAnObjectStore(_ check: SiteStoreCheck) async throws {
        try await check.run(try Self.memoryStore(), try ConformanceFixture())
    }

    /// `count` chunks of about `size` bytes each, stored and flushed.
    static func storeChunks(_ count: Int, size: Int = 4000, in store: any ObjectStore, _ fixture: ConformanceFixture) async throws -> [EncodedObject] {
        var objects: [EncodedObject] = []
        for i in 0..<count {
            let object = try fixture.chunk(size: size + i)
            #expect(try await store.put(.object(object.address), object.bytes) == .stored)
            objects.append(object)
        }
        try await store.flush()
        return objects
    }

    static func packFiles(_ folder: TemporaryDirectory) throws -> [RawPath] {
        let packs = folder.appending("store/packs")
        return try FileIO.directoryEntries(packs).flatMap { fan in
            try FileIO.directoryEntries(packs.appending(fan)).map { packs.appending(fan).appending($0) }
        }
    }

    @Test func objectsGoIntoFewPackFilesAndNoObjectFiles() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        let store = try await Self.folderStore(folder)
        let objects = try await Self.storeChunks(200, in: store, fixture)
        let stored = objects.reduce(0) { $0 + $1.bytes.count }
        let files = try Self.packFiles(folder)
        // 200 objects of ~4 KiB in 64 KiB packs: about 13 packs, never one file per object.
        #expect(files.count <= stored / Self.smallPacks + 2)
        #expect(!FileIO.exists(folder.appending("store/objects")))
        for object in objects { #expect(try await store.get(.object(object.address)) == object.bytes) }
    }

    @Test func theIndexIsRebuiltFromThePacksAlone() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        let objects = try await Self.storeChunks(100, in: try await Self.folderStore(folder), fixture)
        try FileIO.removeTree(folder.appending("store/index"))
        let reopened = try await Self.folderStore(folder)
        for object in objects { #expect(try await reopened.get(.object(object.address)) == object.bytes) }
        let listed = try await reopened.list(prefix: StoreKey.objectsPrefix, after: nil, limit: 1000)
        #expect(listed == objects.map { StoreKey.object($0.address) }.sorted())
    }

    @Test func aTornPackIsIndexedUpToItsLastWholeRecord() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        // One big pack that never reaches its target: it has no trailer, like a killed writer's.
        let objects = try await Self.storeChunks(10, in: try await Self.folderStore(folder, target: 1 << 24), fixture)
        let files = try Self.packFiles(folder)
        try #require(files.count == 1)
        let size = try FileIO.readFile(files[0]).count
        // Tear the last record in half.
        #expect(files[0].withCString { truncate($0, off_t(size - objects.last!.bytes.count / 2)) } == 0)
        try FileIO.removeTree(folder.appending("store/index"))
        let reopened = try await Self.folderStore(folder)
        for object in objects.dropLast() { #expect(try await reopened.get(.object(object.address)) == object.bytes) }
        #expect(try await reopened.size(.object(objects.last!.address)) == nil)
    }

    @Test func recordsNotFlushedAreNotIndexedAfterACrash() async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        let store = try await Self.folderStore(folder, target: 1 << 24)
        let durable = try await Self.storeChunks(5, in: store, fixture)
        let lost = try fixture.chunk(size: 777)
        _ = try await store.put(.object(lost.address), lost.bytes)
        // A second process (or the same after kill -9) sees only what flush committed.
        let other = try await Self.folderStore(folder, target: 1 << 24)
        for object in durable { #expect(try await other.get(.object(object.address)) == object.bytes) }
        #expect(try await other.size(.object(lost.address)) == nil)
        #expect(try await store.get(.object(lost.address)) == lost.bytes)
    }

    @Test(arguments: [false, true])
    func compactionRewritesPacksWithGarbageAndKeepsEveryLiveObject(inMemory: Bool) async throws {
        let folder = try TemporaryDirectory("skiff-packs")
        defer { folder.remove() }
        let fixture = try ConformanceFixture()
        let store = inMemory ? try Self.memoryStore() : try await Self.folderStore(folder)
        let objects = try await Self.storeChunks(120, in: store, fixture)
        let before = try store.index.totals()
        let garbage = objects.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let outcomes = try await store.sweep(garbage.map { .object($0.address) }, olderThan: Int(time(nil)) + 60)
        #expect(outcomes.allSatisfy { $0 == .deleted })
        let report = try await store.compact(keepingVouchedSince: 0)
        // Every pack but the one still open (in a folder) is rewritten: each is half garbage.
        let live = objects.count - garbage.count
        #expect(report.packsRewritten >= before.packs - 1)
        #expect(report.objectsMoved <= live && report.objectsMoved >= live - Self.smallPacks / 4000)
        #expect(report.bytesReclaimed > garbage.reduce(0) { $0 + $1.bytes.count } / 2)
        let after = try store.index.totals()
        #expect(after.packBytes < before.packBytes * 2 / 3)
        for (i, object) in objects.enumerated() {
            if i % 2 == 0 {
                #expect(try await store.size(.object(object.address)) == nil)
            } else {
                #expect(try await store.get(.object(object.address)) == object.bytes)
            }
        }
        // Nothing left to do: a second compaction rewrites nothing.
        #expect(try await store.compact(keepingVouchedSince: 0).packsRewritten == 0)
    }

    @Test func aVouchedObjectSurvivesTheSweepAndTheRepack() async throws {
        let clock = Atomic<Int>(1_000)
        let store = try Self.memoryStore(clock: { clock.load(ordering: .relaxed) })
        let fixture = try ConformanceFixture()
        let objects = try await Self.storeChunks(40, in: store, fixture)
        // Stored at 1,000; vouched for at 5,000; swept with the cutoff 4,000.
        clock.store(5_000, ordering: .relaxed)
        #expect(try await store.vouch([.object(objects[0].address), .object(try fixture.chunk(size: 3).address)]) == [true, false])
        let outcomes = try await store.sweep(objects.map { .object($0.address) }, olderThan: 4_000)
        #expect(outcomes == [.putBack] + Array(repeating: .deleted, count: objects.count - 1))
        let report = try await store.compact(keepingVouchedSince: 0)
        #expect(report.objectsMoved == 1)
        #expect(try await store.get(.object(objects[0].address)) == objects[0].bytes)
        #expect(try store.index.totals().objects == 1)
    }

    @Test func packLayoutRejectsADamagedTrailer() throws {
        let fixture = try ConformanceFixture()
        let object = try fixture.chunk(size: 500)
        var pack = PackLayout.magic + PackLayout.recordHeader(address: object.address, length: object.bytes.count) + object.bytes
        let entry = PackEntry(address: object.address, offset: PackLayout.headerSize + PackLayout.recordHeaderSize, length: object.bytes.count)
        let trailer = PackLayout.trailer([entry])
        pack += trailer
        let footer = Array(pack.suffix(PackLayout.footerSize))
        let entryBytes = try #require(PackLayout.trailerEntryBytes(footer: footer, packSize: pack.count))
        #expect(try PackLayout.parseTrailer(Array(pack.suffix(entryBytes + PackLayout.footerSize)), packSize: pack.count) == [entry])
        var damaged = Array(pack.suffix(entryBytes + PackLayout.footerSize))
        damaged[40] ^= 1
        #expect(throws: FormatError.self) { try PackLayout.parseTrailer(damaged, packSize: pack.count) }
        // An entry pointing past the records is refused even with a matching checksum.
        let outside = PackLayout.trailer([PackEntry(address: object.address, offset: pack.count, length: 10)])
        #expect(throws: FormatError.self) { try PackLayout.parseTrailer(outside, packSize: pack.count) }
        // A count that cannot fit is no trailer at all.
        var huge = footer
        huge[0] = 0xff; huge[1] = 0xff; huge[2] = 0xff; huge[3] = 0x7f
        #expect(PackLayout.trailerEntryBytes(footer: huge, packSize: pack.count) == nil)
        // Records scan up to the trailer and stop there.
        let scanned = pack.withUnsafeBytes { PackLayout.scanRecords($0) }
        #expect(scanned.entries == [entry])
    }

    /// Two site processes on one bucket: each with its own index over one shared store.
    static func sharedPair(clock: @escaping @Sendable () -> Int = { Int(time(nil)) }) throws -> (PackedStore, PackedStore) {
        let bucket = MemoryStore(isShared: true, clock: clock)
        func process() throws -> PackedStore {
            PackedStore(inner: bucket, shelf: StorePackShelf(store: bucket), index: try PackIndex(path: nil), targetPackSize: smallPacks, clock: clock)
        }
        return (try process(), try process())
    }

    @Test func aProcessFindsWhatAnotherPutIntoTheSharedBucket() async throws {
        let (a, b) = try Self.sharedPair()
        let fixture = try ConformanceFixture()
        let objects = try await Self.storeChunks(30, in: a, fixture)
        for object in objects { #expect(try await b.get(.object(object.address)) == object.bytes) }
        let missing = try fixture.chunk(size: 5)
        #expect(try await b.vouch(objects.prefix(3).map { .object($0.address) } + [.object(missing.address)]) == [true, true, true, false])
        #expect(try await b.list(prefix: StoreKey.objectsPrefix, after: nil, limit: 100).count == objects.count)
    }

    @Test func aRepackInOneProcessKeepsWhatAnotherVouchedForAndBothStillRead() async throws {
        let clock = Atomic<Int>(1_000)
        let (a, b) = try Self.sharedPair(clock: { clock.load(ordering: .relaxed) })
        let fixture = try ConformanceFixture()
        let objects = try await Self.storeChunks(40, in: a, fixture)
        #expect(try await b.size(.object(objects[0].address)) != nil)
        // Process a sweeps every even object; meanwhile process b (stale) tells a host that
        // object 2 is present: its vouch record is newer than a's cutoff.
        clock.store(5_000, ordering: .relaxed)
        let garbage = stride(from: 0, to: objects.count, by: 2).map { objects[$0] }
        #expect(try await a.sweep(garbage.map { .object($0.address) }, olderThan: 4_000).allSatisfy { $0 == .deleted })
        #expect(try await b.vouch([.object(objects[2].address)]) == [true])
        let report = try await a.compact(keepingVouchedSince: 4_000)
        #expect(report.packsRewritten > 0 && report.objectsKeptByVouch == 1, "\(report)")
        // Both processes read every live object and the vouched one; b learns the new packs.
        for (i, object) in objects.enumerated() where i % 2 == 1 || i == 2 {
            #expect(try await a.get(.object(object.address)) == object.bytes)
            #expect(try await b.get(.object(object.address)) == object.bytes)
        }
        // The others are gone for both once b looks them up.
        #expect(try await a.size(.object(objects[4].address)) == nil)
        #expect(try await b.vouch([.object(objects[4].address)]) == [false])
    }
}
