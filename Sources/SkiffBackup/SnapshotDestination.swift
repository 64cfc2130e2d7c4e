import Logging
import SkiffCore
import SkiffStorage

/// Where a snapshot writer sends objects and seals: one local repository, or (with the sites
/// issue) a set of per-site durable backlogs.
///
/// Ordering rule (docs/FORMAT.md): every object a seal reaches is durable before the seal
/// is written. Writers call `checkpoint()` to make accepted objects durable and `commit` to
/// write a seal after its objects.
package protocol SnapshotDestination: Sendable {
    /// Accepts an object. Returns true when its bytes were newly stored or queued, false when
    /// the destination already held it. Durable only after `checkpoint()` or `commit`.
    func put(_ object: EncodedObject) async throws -> Bool

    /// Makes every object accepted so far durable.
    func checkpoint() async throws

    /// Makes every accepted object durable, then stores `seal` durably.
    func commit(_ seal: Seal) async throws

    /// The newest seal of `host` held by the destination, to chain the next seal to; nil
    /// for a host's first snapshot.
    func latestSeal(host: String) async throws -> Seal?

    /// Called before a snapshot of `host` consults `cache`: holds off anything that deletes from
    /// the destination until the returned lease ends (after the seal is committed, or when the
    /// snapshot is abandoned), and makes `cache` forget what deletions since its last snapshot
    /// may have removed. The default holds nothing and forgets nothing (sites keep what hosts
    /// may reuse by their own rules, FORMAT §10).
    func beginSnapshot(host: String, cache: LocalCache, logger: Logger) async throws -> SnapshotLease
}

extension SnapshotDestination {
    package func beginSnapshot(host: String, cache: LocalCache, logger: Logger) async throws -> SnapshotLease { SnapshotLease() }
}

/// A destination that writes straight into one repository (a local folder).
package struct RepositoryDestination: SnapshotDestination {
    package let repository: Repository

    package init(repository: Repository) {
        self.repository = repository
    }

    package func put(_ object: EncodedObject) async throws -> Bool {
        try await repository.putObject(object) == .stored
    }

    package func checkpoint() async throws {
        try await repository.store.flush()
    }

    package func commit(_ seal: Seal) async throws {
        try await repository.store.flush()
        _ = try await repository.putSeal(seal)
        try await repository.store.flush()
    }

    package func latestSeal(host: String) async throws -> Seal? {
        guard let newest = try await repository.sealNames(host: host).max(by: { $0.sequence < $1.sequence }) else { return nil }
        return try await repository.seal(named: newest)
    }
}
