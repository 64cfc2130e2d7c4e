import Foundation
import Logging
import SkiffBackup
import SkiffCore
import SkiffRestore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Restores that read ahead (as restores from sites do): the same tree, the same checks, the
/// same fallback to the next source, and nothing left in memory afterwards.
@Suite struct ReadAheadTests {
    /// A fixture holding a backup of a generated tree with small files and multi-chunk ones.
    static func backedUpTree() async throws -> (BackupFixture, BackupResult) {
        let fixture = try BackupFixture()
        var options = TreeGenerator.Options()
        options.directories = 30
        options.filesPerDirectory = 20
        options.largeFileSizes = [3 << 20, 9 << 20]
        try TreeGenerator.generate(at: fixture.source, options: options)
        return (fixture, try await fixture.backup())
    }

    /// A read-ahead budget far below the tree's size, so the look-ahead waits for the restore
    /// again and again, and few files at once.
    static func restore(_ fixture: BackupFixture, _ seal: Seal, from sources: [Repository], to target: RawPath)
        async throws -> (RestoreReport, ObjectReader)
    {
        let reader = ObjectReader(repositories: sources, restoreKey: fixture.tenant, order: .listed)
        let record = try await reader.snapshot(seal.root)
        var options = RestoreOptions()
        options.readAheadBytes = 256 << 10
        options.parallelFiles = 2
        let report = try await RestoreEngine(reader: reader, options: options, logger: Logger(label: "test")).restore(root: record.root, into: target)
        return (report, reader)
    }

    @Test func aRestoreReadingAheadIsByteIdenticalAndHoldsNothingAfterwards() async throws {
        let (fixture, result) = try await Self.backedUpTree()
        defer { fixture.remove() }
        let target = fixture.folder.appending("restore")
        let (report, reader) = try await Self.restore(fixture, result.seal, from: [fixture.repository], to: target)
        #expect(report.isComplete, "\(report.notRestored)")
        #expect(report.badCopies.isEmpty)
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(20))")
        #expect(reader.prefetchedBytes.load(ordering: .relaxed) == 0)
    }

    @Test func damagedCopiesReadAheadAreReadFromTheNextSourceAndReported() async throws {
        let (fixture, result) = try await Self.backedUpTree()
        defer { fixture.remove() }
        let copy = fixture.folder.appending("copy")
        try FileManager.default.copyItem(atPath: fixture.repoPath.description, toPath: copy.description)
        let second = Repository(store: try await PackedStore.open(folder: try FileSystemStore(root: copy)), location: copy.description)

        var damaged = Set<String>()
        for (index, address) in try await fixture.objectAddresses().enumerated() where index % 5 == 0 {
            try fixture.flipByte(of: address, at: 100)
            damaged.insert(address.hex)
        }
        let target = fixture.folder.appending("restore")
        let (report, reader) = try await Self.restore(fixture, result.seal, from: [fixture.repository, second], to: target)
        #expect(report.isComplete, "\(report.notRestored)")
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(20))")
        // Every object is read at least once, so every damaged copy is found, at the first source.
        #expect(Set(report.badCopies.map(\.object)) == damaged)
        #expect(report.badCopies.allSatisfy { $0.source == fixture.repository.location && $0.problem == .corruptObject }, "\(report.badCopies.prefix(5))")
        #expect(reader.prefetchedBytes.load(ordering: .relaxed) == 0)
    }
}
