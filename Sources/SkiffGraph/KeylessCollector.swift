import SkiffCore
import SkiffStorage

/// Keyless garbage collection of one store: the procedure a site's collection (docs/FORMAT.md
/// §10, G2–G5) and a local repository's prune (§8, L1–L4) share.
///
/// 1. Learns what other processes sharing the store wrote (`catchUp`), and puts back whatever
///    an interrupted collection left in the trash.
/// 2. Marks every object reachable, through the clear links of object headers, from the root
///    seals listed from the store, until no new seal appears (`ReachabilityMarker`).
/// 3. Sweeps the object listing in batches: an unmarked object older than `cutoff` is moved to
///    the trash, its age read again, then deleted or put back (`TrashSweeper`).
/// 4. Reclaims the space: a store that keeps objects in packs rewrites the packs whose garbage
///    passes its threshold (`CollectableStore.compact`, rule G6).
///
/// No lock is taken here: callers that need one hold it. Memory: the marked addresses, one page
/// of the listing and one batch. Safe to kill at any point and to run again: the next run
/// finishes the work. When an object a root reaches is missing or unreadable, nothing is
/// deleted (`CollectionError.incompleteDAG`).
package struct KeylessCollector: Sendable {
    package struct Rules: Sendable {
        /// Unreachable objects stored or vouched for at or after this (Unix seconds) are kept.
        package var cutoff: Int
        /// Retired seals this close to their host's newest seal are roots (G2).
        package var reuseHorizonSeconds: Int
        /// Reads and counts, changes nothing (the trash included).
        package var dryRun = false

        package init(cutoff: Int, reuseHorizonSeconds: Int, dryRun: Bool = false) {
            self.cutoff = cutoff
            self.reuseHorizonSeconds = reuseHorizonSeconds
            self.dryRun = dryRun
        }
    }

    package let store: any CollectableStore
    package let rules: Rules
    /// See `TrashSweeper`: before the first object goes to the trash, and once more at the end.
    let aroundDeletions: @Sendable () async throws -> Void
    /// Unmarked objects judged and swept together (the store runs each batch in lanes).
    package static let sweepBatch = 4096

    package init(store: any CollectableStore, rules: Rules, aroundDeletions: @escaping @Sendable () async throws -> Void = {}) {
        self.store = store
        self.rules = rules
        self.aroundDeletions = aroundDeletions
    }

    /// Runs one collection.
    /// - Throws: `CollectionError` (nothing was deleted), store errors (some objects may be left
    ///   in the trash; the next run puts them back).
    package func collect() async throws -> CollectionCounts {
        var counts = CollectionCounts()
        try await store.catchUp()
        for key in try await store.trashedObjectKeys() {
            if !rules.dryRun { try await store.restoreFromTrash(key) }
            counts.recovered += 1
        }
        var marker = ReachabilityMarker(repository: Repository(store: store, location: "store"))
        counts.roots = try await marker.markSeals(horizonSeconds: rules.reuseHorizonSeconds)
        guard marker.unreadable.isEmpty else { throw CollectionError.incompleteDAG(marker.unreadable) }
        counts.reachable = marker.marked.count

        var sweeper = TrashSweeper(store: store, cutoff: rules.cutoff, dryRun: rules.dryRun, aroundDeletions: aroundDeletions)
        var unmarked: [StoreKey] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix) {
            counts.examined += 1
            guard let address = key.objectAddress, !marker.marked.contains(address) else { continue }
            unmarked.append(key)
            if unmarked.count == Self.sweepBatch {
                try await sweeper.sweep(unmarked, into: &counts)
                unmarked.removeAll(keepingCapacity: true)
            }
        }
        try await sweeper.sweep(unmarked, into: &counts)
        try await sweeper.finish()
        if !rules.dryRun {
            try await store.forgetVouches(olderThan: rules.cutoff)
            counts.compaction = try await store.compact(keepingVouchedSince: rules.cutoff)
        }
        return counts
    }
}
