import Glibc
import SkiffBackup
import SkiffCore
import SkiffGraph
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Synchronization
import Testing

/// `RepositoryPruner` against interrupted backups, a backup running at the same time, and an
/// interrupted prune (docs/FORMAT.md §8, L1–L4). Each starts from a clean replica and ends with
/// a verification (nothing wrong, nothing unreferenced) and a byte-identical restore.
@Suite struct PruneTests {
    static let twoDays = 2 * 86_400

    /// A clean replica (one sealed snapshot of a generated tree), then new content and a backup
    /// of it interrupted after its last checkpoint. Returns the objects only the cache knows
    /// (no seal reaches them) and the sealed ones.
    /// Everything is stored two days "ago" (the store's clock runs behind), so that a collection
    /// with the default grace period may delete the leftovers.
    static func interruptedReplica() async throws -> (fixture: BackupFixture, sealed: Set<ObjectAddress>, leftovers: Set<ObjectAddress>) {
        let fixture = try BackupFixture("skiff-prune")
        fixture.clockOffset.seconds.store(-twoDays, ordering: .relaxed)
        defer { fixture.clockOffset.seconds.store(0, ordering: .relaxed) }
        var options = TreeGenerator.Options()
        options.directories = 6
        options.filesPerDirectory = 8
        options.largeFileSizes = [2 << 20]
        try TreeGenerator.generate(at: fixture.source, options: options)
        _ = try await fixture.backup()
        let sealed = Set(try await fixture.objectAddresses())
        var random = SeededRandom(seed: 11)
        try FileIO.makeDirectories(fixture.source.appending("added"))
        for i in 0..<4 { try TreeGenerator.write(random.bytes(300_000 + i), to: fixture.source.appending("added/file\(i)")) }
        try TreeGenerator.write(random.bytes(3 << 20), to: fixture.source.appending("added/large"))
        await #expect(throws: FaultyDestination.Interrupted.self) {
            try await fixture.backup(through: FaultyDestination(fixture.repository, fault: .neverSeals))
        }
        let leftovers = Set(try await fixture.objectAddresses()).subtracting(sealed)
        let verification = try await fixture.verify()
        #expect(verification.isClean && !leftovers.isEmpty && verification.unreferencedObjects == leftovers.count, "\(verification)")
        return (fixture, sealed, leftovers)
    }

    /// Nothing wrong and nothing unreferenced in the repository, and `seal` restores the source
    /// byte for byte.
    static func expectIntact(_ fixture: BackupFixture, _ seal: Seal) async throws {
        let verification = try await fixture.verify()
        #expect(verification.isClean, "\(verification.findings)")
        #expect(verification.unreferencedObjects == 0)
        let target = fixture.folder.appending("restore-\(seal.sequence)")
        let report = try await fixture.restore(seal, to: target)
        #expect(report.isComplete)
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    static func pruner(_ fixture: BackupFixture, grace: Int = 86_400, dryRun: Bool = false) -> RepositoryPruner {
        RepositoryPruner(repository: fixture.repository, store: fixture.store, folder: fixture.store.inner as! FileSystemStore, graceSeconds: grace, dryRun: dryRun)
    }

    /// L2, L3: the cache of the host still names the objects the prune deleted; the next backup
    /// must not name them in its snapshot.
    @Test func aBackupAfterAPruneDoesNotReuseWhatThePruneDeleted() async throws {
        let (fixture, sealed, leftovers) = try await Self.interruptedReplica()
        defer { fixture.remove() }
        let report = try await Self.pruner(fixture).prune()
        #expect(report.counts.deletedObjects == leftovers.count && report.counts.keptYoung == 0 && report.counts.reachable == sealed.count, "\(report)")
        #expect(Set(try await fixture.objectAddresses()) == sealed)
        let next = try await fixture.backup()
        #expect(next.statistics.filesRead == 5, "the added files must be read and stored anew")
        try await Self.expectIntact(fixture, next.seal)
    }

    /// L1: a backup that reuses old objects no seal reaches (left by the interrupted one) holds
    /// the repository; a prune meanwhile refuses, and runs once the backup has sealed.
    @Test func aPruneCannotRunWhileABackupReusesOldUnreachableObjects() async throws {
        let (fixture, _, leftovers) = try await Self.interruptedReplica()
        defer { fixture.remove() }
        let pause = FaultyDestination.Pause()
        let backup = Task { try await fixture.backup(through: FaultyDestination(fixture.repository, fault: .pauses(pause))) }
        await pause.waitUntilReached()
        await #expect(throws: RepositoryPruner.Busy.self) { try await Self.pruner(fixture, grace: 0).prune() }
        await #expect(throws: RepositoryPruner.Busy.self) { try await Self.pruner(fixture, grace: 0, dryRun: true).prune() }
        pause.resume()
        let result = try await backup.value
        #expect(result.statistics.filesRead == 0, "every file, the added ones too, comes from the cache: the leftovers are reused")
        let report = try await Self.pruner(fixture, grace: 0).prune()
        #expect(report.counts.deletedObjects > 0 && report.counts.deletedObjects < leftovers.count, "\(report)")
        try await Self.expectIntact(fixture, result.seal)
    }

    /// L1, the other way round: a backup that starts while a prune holds the repository waits.
    @Test func aBackupWaitsWhileAPruneHoldsTheRepository() async throws {
        let fixture = try BackupFixture("skiff-prune")
        defer { fixture.remove() }
        var options = TreeGenerator.Options()
        options.directories = 3
        options.largeFileSizes = []
        try TreeGenerator.generate(at: fixture.source, options: options)
        let lock = try #require(try RepositoryLock.attempt(.exclusive, repository: fixture.repoPath))
        let finished = PruneTests.Flag()
        let backup = Task {
            defer { finished.set() }
            return try await fixture.backup()
        }
        try await Task.sleep(for: .milliseconds(700))
        #expect(!finished.isSet, "the backup must wait for the prune")
        lock.release()
        let result = try await backup.value
        try await Self.expectIntact(fixture, result.seal)
    }

    /// G4, L4: a prune killed half-way left a new epoch, objects in the trash and one deleted.
    /// A backup in between does not lean on the trash; the next prune puts it all back, then
    /// deletes exactly what no seal reaches.
    @Test func anInterruptedPruneIsFinishedByTheNextWithNothingLost() async throws {
        let (fixture, sealed, leftovers) = try await Self.interruptedReplica()
        defer { fixture.remove() }
        let keys = leftovers.map { StoreKey.object($0) }.sorted()
        let lock = try #require(try RepositoryLock.attempt(.exclusive, repository: fixture.repoPath))
        try lock.renewPruneEpoch()
        lock.release()
        let trashed = keys.prefix(keys.count / 2)
        for key in trashed { #expect(try await fixture.store.moveToTrash(key)) }
        try await fixture.store.delete(keys.last!)

        let between = try await fixture.backup()
        let verification = try await fixture.verify()
        #expect(verification.isClean, "\(verification.findings)")

        let report = try await Self.pruner(fixture, grace: 0).prune()
        #expect(report.counts.recovered == trashed.count, "\(report)")
        #expect(report.counts.deletedObjects == leftovers.count - 1, "\(report)")
        #expect(try await fixture.store.trashedObjectKeys().isEmpty)
        let remaining = Set(try await fixture.objectAddresses())
        #expect(remaining.isSuperset(of: sealed) && remaining.isDisjoint(with: leftovers))
        try await Self.expectIntact(fixture, between.seal)
    }

    /// G5: when an object a seal reaches is missing, nothing is deleted.
    @Test func aMissingReachableObjectStopsThePruneBeforeAnyDeletion() async throws {
        let (fixture, sealed, leftovers) = try await Self.interruptedReplica()
        defer { fixture.remove() }
        let victim = sealed.sorted()[0]
        try await fixture.store.delete(.object(victim))
        await #expect(throws: CollectionError.self) { try await Self.pruner(fixture, grace: 0).prune() }
        #expect(Set(try await fixture.objectAddresses()) == sealed.union(leftovers).subtracting([victim]))
    }

    /// A flag one task sets and another reads.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }
}
