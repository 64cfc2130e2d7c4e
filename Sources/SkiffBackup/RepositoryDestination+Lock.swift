import Logging
import SkiffCore
import SkiffGraph
import SkiffStorage

extension RepositoryDestination {
    /// Takes the repository's lock shared, waiting (with a warning) while a prune holds it
    /// (docs/FORMAT.md §8, L1), then reconciles `cache` with the repository's prune epoch (L2, L3):
    /// when a prune ran since the cache last looked, the cache forgets every entry whose object
    /// none of `host`'s seals reaches, since the prune may have deleted it (or anything below
    /// it). Objects a seal reaches are never pruned, so what stays is safe to reuse.
    ///
    /// A store that is not a folder (tests with other stores) has no lock: nothing is held.
    /// Not cancellable while it waits for a prune (see `RepositoryLock.acquire`).
    package func beginSnapshot(host: String, cache: LocalCache, logger: Logger) async throws -> SnapshotLease {
        guard let folder = repository.localFolder else { return SnapshotLease() }
        let location = repository.location
        let lock = try await RepositoryLock.acquire(.shared, repository: folder.root) {
            logger.warning("waiting for a prune of \(location) to finish")
        }
        do {
            if let epoch = try lock.pruneEpoch(), try cache.recordedPruneEpoch() != epoch {
                try await forgetPruned(host: host, cache: cache, logger: logger)
                try cache.recordPruneEpoch(epoch)
            }
        } catch {
            lock.release()
            throw error
        }
        return SnapshotLease(lock: lock)
    }

    /// Forgets the cache entries whose objects none of `host`'s seals reaches (a walk of clear
    /// object headers, as a collection marks). A seal or object that cannot be read costs only
    /// reuse: what lies below it is forgotten and stored anew.
    private func forgetPruned(host: String, cache: LocalCache, logger: Logger) async throws {
        guard try !cache.isEmpty() else { return }
        var roots: [ObjectAddress] = []
        for name in try await repository.sealNames(host: host) {
            do {
                roots.append(try await repository.seal(named: name).root)
            } catch {
                logger.warning("seal \(name.short) is unreadable; what only it reaches will be stored anew", metadata: ["error": "\(error)"])
            }
        }
        var marker = ReachabilityMarker(repository: repository)
        try await marker.mark(roots)
        if !marker.unreadable.isEmpty {
            logger.warning("\(marker.unreadable.count) objects the seals reach are missing or damaged; run skiff verify")
        }
        let forgotten = try cache.forgetAllBut(marker.marked)
        logger.info("the repository was pruned since the last backup: forgot cache entries no seal reaches", metadata: [
            "forgotten": "\(forgotten)", "reachable": "\(marker.marked.count)",
        ])
    }
}
