import SkiffStorage
/// The sweep phase of a keyless collection (docs/FORMAT.md §10, G3 and G4), one batch of
/// unmarked objects at a time: their ages first, then the old ones through the trash
/// (`CollectableStore.sweep`: move, read the age again, delete or put back).
///
/// `aroundDeletions` runs before the first object goes to the trash and once more from
/// `finish()` when it ran (a site forgets the complete subtrees its seal checks trust; a local
/// repository renews its prune epoch). A dry run reads ages and counts, and changes nothing.
package struct TrashSweeper {
    package let store: any CollectableStore
    /// Objects stored or vouched for at or after this (Unix seconds) are young: kept.
    package let cutoff: Int
    package let dryRun: Bool
    let aroundDeletions: () async throws -> Void
    package private(set) var deletionsBegan = false

    package init(store: any CollectableStore, cutoff: Int, dryRun: Bool = false, aroundDeletions: @escaping () async throws -> Void) {
        self.store = store
        self.cutoff = cutoff
        self.dryRun = dryRun
        self.aroundDeletions = aroundDeletions
    }

    /// Deletes the objects of `unmarked` older than the cutoff, through the trash; each is put
    /// back when it was vouched for since its age was read. Idempotent; an error leaves some in
    /// the trash, which the next collection puts back first.
    package mutating func sweep(_ unmarked: [StoreKey], into counts: inout CollectionCounts) async throws {
        var old: [StoreKey] = []
        var sizes: [Int] = []
        for (key, age) in zip(unmarked, try await store.ages(of: unmarked)) {
            guard let (modified, size) = age else { continue }
            guard modified < cutoff else {
                counts.keptYoung += 1
                continue
            }
            old.append(key)
            sizes.append(size)
        }
        guard !old.isEmpty else { return }
        if dryRun {
            counts.deletedObjects += old.count
            counts.deletedBytes += sizes.reduce(0, +)
            return
        }
        if !deletionsBegan {
            try await aroundDeletions()
            deletionsBegan = true
        }
        for (outcome, size) in zip(try await store.sweep(old, olderThan: cutoff), sizes) {
            switch outcome {
            case .absent: continue
            case .putBack: counts.putBack += 1
            case .deleted:
                counts.deletedObjects += 1
                counts.deletedBytes += size
            }
        }
    }

    /// Runs `aroundDeletions` once more when anything went to the trash.
    package func finish() async throws {
        if deletionsBegan { try await aroundDeletions() }
    }
}
