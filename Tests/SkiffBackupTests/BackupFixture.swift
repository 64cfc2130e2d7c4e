import Foundation
import Logging
import SkiffBackup
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport

/// A tenant, a host, a local repository and a cache in a temporary folder.
final class BackupFixture: Sendable {
    let folder: TemporaryDirectory
    let tenant: RestoreKey
    let host: HostKey
    let store: FileSystemStore
    let repository: Repository
    let cachePath: String

    init(_ label: String = "skiff-backup") throws {
        folder = try TemporaryDirectory(label)
        tenant = try TestKeys.tenant()
        host = try TestKeys.host("web1", of: tenant)
        store = try FileSystemStore.create(at: folder.appending("repo"))
        repository = Repository(store: store, location: folder.appending("repo").description)
        cachePath = folder.appending("cache/cache.sqlite").description
    }

    var source: RawPath { folder.appending("source") }
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

    /// Every stored object file.
    func objectFiles() throws -> [RawPath] {
        var files: [RawPath] = []
        let objects = repoPath.appending("objects")
        for fan in try FileIO.directoryEntries(objects) {
            for name in try FileIO.directoryEntries(objects.appending(fan)) { files.append(objects.appending(fan).appending(name)) }
        }
        return files.sorted()
    }

    func remove() { folder.remove() }
}

extension RawPath {
    /// Flips one bit of the byte at `offset` in the file (made writable first).
    func flipByte(at offset: Int) throws {
        _ = withCString { chmod($0, 0o644) }
        var bytes = try FileIO.readFile(self)
        bytes[offset % bytes.count] ^= 0x01
        try TreeGenerator.write(bytes, to: self)
    }
}
