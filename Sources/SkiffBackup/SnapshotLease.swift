import SkiffStorage

/// What a snapshot holds from `SnapshotDestination.beginSnapshot` until it is sealed or
/// abandoned: for a local repository, its lock, shared (docs/FORMAT.md §8, L1).
package struct SnapshotLease: Sendable {
    let lock: RepositoryLock?

    package init(lock: RepositoryLock? = nil) { self.lock = lock }

    /// Lets deletions (a prune) proceed again. Idempotent; a killed process ends it too.
    package func end() { lock?.release() }
}
