import Foundation
import Logging
import SkiffBackup
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Synchronization
import Testing

/// A tenant, a host, a local repository and a cache in a temporary folder.
final class BackupFixture: Sendable {
    let folder: TemporaryDirectory
    let tenant: RestoreKey
    let host: HostKey
    let store: PackedStore
    let repository: Repository
    let cachePath: String
    /// Seconds added to the store's clock: what is stored while it is negative looks that old.
    let clockOffset = Offset()

    final class Offset: Sendable {
        let seconds = Atomic<Int>(0)
    }

    init(_ label: String = "skiff-backup") throws {
        folder = try TemporaryDirectory(label)
        tenant = try TestKeys.tenant()
        host = try TestKeys.host("web1", of: tenant)
        let offset = clockOffset
        store = try PackedStore(folder: try FileSystemStore.create(at: folder.appending("repo")),
                                clock: { Int(time(nil)) + offset.seconds.load(ordering: .relaxed) })
        repository = Repository(store: store, location: folder.appending("repo").description)
        cachePath = folder.appending("cache/cache.sqlite").description
    }

    var source: RawPath { folder.appending("source") }

    /// Fills `source` with the generator's tree of small files only (no large ones).
    func generateSmallFiles() throws {
        var options = TreeGenerator.Options()
        options.largeFileSizes = []
        try TreeGenerator.generate(at: source, options: options)
    }
    var repoPath: RawPath { folder.appending("repo") }

    func backup(_ paths: [RawPath]? = nil, options: BackupOptions = BackupOptions(), through destination: (any SnapshotDestination)? = nil) async throws -> BackupResult {
        let writer = try SnapshotWriter(
            hostKey: host, destination: destination ?? RepositoryDestination(repository: repository), cache: try LocalCache(path: cachePath),
            options: options, logger: Logger(label: "test"))
        return try await writer.backup(paths: paths ?? [source], time: TimeFormat.now())
    }

    func reader() -> ObjectReader { ObjectReader(repository: repository, restoreKey: tenant) }

    /// Restores the seal's snapshot into `target` and returns the report.
    func restore(_ seal: Seal, to target: RawPath, subPath: RawPath? = nil, options: RestoreOptions = RestoreOptions()) async throws -> RestoreReport {
        let reader = reader()
        let record = try await reader.snapshot(seal.root)
        return try await RestoreEngine(reader: reader, options: options, logger: Logger(label: "test"))
            .restore(root: record.root, into: target, subPath: subPath)
    }

    /// Where `source` lands inside a restore target (full path, like restic).
    func restored(_ target: RawPath, _ path: RawPath? = nil) -> RawPath {
        RawPath(bytes: target.bytes + (path ?? source).bytes)
    }

    func verify() async throws -> VerificationReport {
        try await RepositoryVerifier(reader: reader(), tenant: tenant.publicKey).verify()
    }

    /// Every stored object's address.
    func objectAddresses() async throws -> [ObjectAddress] {
        try await store.list(prefix: StoreKey.objectsPrefix, after: nil, limit: Int.max).compactMap(\.objectAddress)
    }

    /// The repository's folder as tests damage it: objects by their place in their packs.
    var packs: PackedFolder { PackedFolder(repoPath) }

    /// Where an object's bytes are: its pack file, their offset and length.
    func place(_ address: ObjectAddress) throws -> (file: RawPath, offset: Int, length: Int) {
        try packs.place(address.hex)
    }

    /// Flips one bit of the object's byte at `offset` (modulo its length), in its pack.
    func flipByte(of address: ObjectAddress, at offset: Int) throws {
        try packs.flipByte(address.hex, at: offset)
    }

    /// Points each object's index row at the other's bytes: as if their files were swapped.
    func swapPlaces(_ a: ObjectAddress, _ b: ObjectAddress) throws {
        let first = try #require(try store.index.location(of: a))
        let second = try #require(try store.index.location(of: b))
        try store.index.commit(pack: second.pack, size: 0, finished: true, entries: [
            PackIndex.NewEntry(entry: PackEntry(address: a, offset: second.offset, length: second.length), stored: 0, replacing: true),
        ])
        try store.index.commit(pack: first.pack, size: 0, finished: true, entries: [
            PackIndex.NewEntry(entry: PackEntry(address: b, offset: first.offset, length: first.length), stored: 0, replacing: true),
        ])
    }

    func remove() { folder.remove() }
}
