import Foundation
import SkiffCore
import SkiffGraph
import SkiffStorage

/// `skiff prune`: keyless garbage collection of a local repository (docs/FORMAT.md §8, L1–L4),
/// by the procedure of a site's collection (`KeylessCollector`: §10, G3–G5): objects that no
/// seal reaches through the clear links of object headers, and that were stored longer ago
/// than the grace period, are deleted through the trash.
///
/// - Exclusion (L1): holds the repository's lock exclusively for the whole run, and refuses
///   (`RepositoryPruner.Busy`) while any backup holds it; a backup that starts meanwhile waits.
/// - Before the first object goes to the trash it renews the prune epoch (L2), so that every
///   later backup makes its cache forget what it may no longer reuse (L3).
/// - Idempotent and safe to kill: the next run puts back what the trash holds, then finishes.
/// - A dry run takes the lock too, reads, counts and changes nothing.
/// - When an object a seal reaches is missing or damaged, nothing is deleted
///   (`CollectionError`).
package struct RepositoryPruner: Sendable {
    /// Another process holds the repository's lock (a backup writing into it).
    package struct Busy: Error, CustomStringConvertible {
        package let location: String
        package var description: String {
            "\(location) is in use by a backup; nothing was pruned (try again once it has finished)"
        }
    }

    package let repository: Repository
    /// The repository's store (objects in packs), and the folder it keeps them in.
    package let store: any CollectableStore
    package let folder: FileSystemStore
    /// Unreachable objects stored within this many seconds are kept (default 24 h, as at sites).
    package var graceSeconds: Int
    package var dryRun: Bool

    /// A local repository holds no retired seals; should one hold some (a site's folder copied),
    /// every one of them is a root.
    static let retiredSealHorizonSeconds = 100 * 365 * 86_400

    package init(repository: Repository, store: any CollectableStore, folder: FileSystemStore, graceSeconds: Int = 86_400, dryRun: Bool = false) {
        self.repository = repository
        self.store = store
        self.folder = folder
        self.graceSeconds = graceSeconds
        self.dryRun = dryRun
    }

    /// Prunes once. `now` sets the grace period's end: objects stored before `now − grace`
    /// (whole seconds, rounded up, so `--grace 0s` takes every unreachable object stored before
    /// the run) may go.
    /// - Throws: `Busy`, `CollectionError` (nothing deleted), `StoreError`.
    package func prune(now: Date = Date()) async throws -> PruneReport {
        let clock = ContinuousClock()
        let began = clock.now
        guard let lock = try RepositoryLock.attempt(.exclusive, repository: folder.root) else { throw Busy(location: repository.location) }
        defer { lock.release() }
        let rules = KeylessCollector.Rules(
            cutoff: Int(now.timeIntervalSince1970.rounded(.up)) - graceSeconds, reuseHorizonSeconds: Self.retiredSealHorizonSeconds,
            dryRun: dryRun)
        // Named temporary files of puts that were killed; packs whose writer was killed, which the
        // collection's repacking then reclaims.
        if !dryRun { try await store.removeStaleLeftovers() }
        let counts = try await KeylessCollector(store: store, rules: rules) { try lock.renewPruneEpoch() }.collect()
        let elapsed = clock.now - began
        return PruneReport(
            repository: repository.location, started: now, dryRun: dryRun, graceSeconds: graceSeconds, counts: counts,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
