import Logging
import SkiffCore
import SkiffStorage
import SkiffSystem
import Synchronization

/// What a backup produced.
package struct BackupResult: Sendable {
    package var seal: Seal
    package var statistics: BackupStatistics.Summary
    /// Entries that could not be read (permission denied, vanished mid-read); the snapshot
    /// holds everything else.
    package var warnings: [String]
}

package enum BackupError: Error, Equatable, CustomStringConvertible {
    case pathNotFound(String)
    /// The destination's newest seal for this host was signed by another key: two machines
    /// share a host name, or the host key was replaced.
    case chainConflict(host: String, signer: String)

    package var description: String {
        switch self {
        case .pathNotFound(let path): return "\(path): no such file or directory"
        case .chainConflict(let host, let signer):
            return "the newest seal of host \(host) was signed by another key (\(signer.prefix(16))…): is this host name used by two machines?"
        }
    }
}

/// Writes snapshots of local paths: reads, chunks, deduplicates, compresses and encrypts
/// once, sends objects to a destination, then seals.
///
/// Work is bounded: at most `options.parallelFiles` files are read at once, each holding one
/// read window; directories are built bottom-up as the walk returns from them, so memory
/// grows with the depth of the tree, not its size.
package final class SnapshotWriter: Sendable {
    package let hostKey: HostKey
    package let destination: any SnapshotDestination
    package let ledger: BackupLedger
    package let options: BackupOptions
    package let logger: Logger
    package let statistics: BackupStatistics
    let accounts = AccountNames()
    let warnings = Mutex<[String]>([])

    package init(
        hostKey: HostKey, destination: any SnapshotDestination, cache: LocalCache, options: BackupOptions,
        logger: Logger, statistics: BackupStatistics = BackupStatistics()
    ) throws {
        self.hostKey = hostKey
        self.destination = destination
        ledger = try BackupLedger(cache: cache, logger: logger)
        self.options = options
        self.logger = logger
        self.statistics = statistics
    }

    /// Backs up `paths` (files or directories, made absolute) as one snapshot and seals it.
    ///
    /// From before it consults the cache until the seal is committed it holds the
    /// destination's lease (a local repository's lock, shared: a prune waits for it; while a
    /// prune runs, this waits).
    ///
    /// Cancellation: stops reading, leaves every stored object in place (a later run reuses
    /// them) and writes no seal.
    package func backup(paths: [RawPath], time: Timestamp) async throws -> BackupResult {
        let targets = try Self.normalizedTargets(paths)
        let lease = try await destination.beginSnapshot(host: hostKey.hostName, cache: ledger.cache, logger: logger)
        defer { lease.end() }
        let previous = try await destination.latestSeal(host: hostKey.hostName)
        if let previous, previous.certificate.publicKey != hostKey.signingKey.publicKey {
            throw BackupError.chainConflict(host: hostKey.hostName, signer: previous.certificate.publicKey.fingerprint)
        }
        try reconcileCache(with: previous)
        ledger.beginSnapshot(at: time, reuseHorizonSeconds: options.reuseHorizonSeconds)

        let clock = ContinuousClock()
        let started = clock.now
        let session = try WriteSession.start(config: hostKey.config, tenant: hostKey.tenant, writeSecrets: hostKey.writeSecrets)
        let run = try BackupRun(writer: self, session: session)
        try await run.upload(session.keyObject)
        let root = try await run.backupTree(targets: targets)
        logger.debug("tree stored", metadata: ["elapsed": "\(clock.now - started)"])
        let summary = statistics.snapshot
        let record = SnapshotRecord(
            hostName: hostKey.hostName, time: time, paths: targets.map(\.bytes), tags: options.tags,
            summary: SnapshotSummary(
                files: UInt64(summary.filesSeen), directories: UInt64(summary.directories),
                otherEntries: UInt64(summary.otherEntries), logicalBytes: UInt64(summary.logicalBytes)),
            root: root)
        let snapshotObject = try run.pool.withEncoder {
            try $0.encode(kind: .snapshot, children: record.children, body: record.body, compression: hostKey.config.compression)
        }
        try await run.upload(snapshotObject)
        try await ledger.checkpoint(destination)
        logger.debug("objects durable", metadata: ["elapsed": "\(clock.now - started)"])

        let final = statistics.snapshot
        let seal = try Seal.make(
            hostKey: hostKey, previous: previous, time: time, root: snapshotObject.address,
            counts: SealCounts(
                files: UInt64(final.filesSeen), directories: UInt64(final.directories), logicalBytes: UInt64(final.logicalBytes),
                addedObjects: UInt64(final.objectsStored), addedBytes: UInt64(final.bytesStored)))
        try await destination.commit(seal)
        try ledger.cache.setStateValue(Self.lastSealKey, seal.hash.bytes)
        try ledger.snapshotSealed(at: time)
        logger.debug("seal committed", metadata: ["elapsed": "\(clock.now - started)"])
        logger.debug("sealed snapshot", metadata: [
            "seal": "\(seal.name)", "files": "\(final.filesSeen)", "new_objects": "\(final.objectsStored)",
            "new_bytes": "\(final.bytesStored)",
        ])
        return BackupResult(seal: seal, statistics: final, warnings: warnings.withLock { $0 })
    }

    static let lastSealKey = "last-seal"

    /// The cache describes what this host stored up to its last seal. When the destination's
    /// newest seal is not that one (the repository was replaced or rolled back), the cache may
    /// name objects the destination lacks, so it is cleared and everything is read again.
    private func reconcileCache(with previous: Seal?) throws {
        let recorded = try ledger.cache.stateValue(Self.lastSealKey)
        guard let recorded else { return }
        if previous?.hash.bytes != recorded {
            logger.warning("local cache does not match the repository's newest seal; clearing it", metadata: ["cache": "\(ledger.cache.path)"])
            try ledger.cache.reset()
        }
    }

    /// Absolute, normalised, existing paths, without duplicates or paths inside others.
    static func normalizedTargets(_ paths: [RawPath]) throws -> [RawPath] {
        var absolute: [RawPath] = []
        for path in paths {
            let normalized = try path.absolute()
            guard FileIO.exists(normalized) else { throw BackupError.pathNotFound(path.description) }
            absolute.append(normalized)
        }
        absolute.sort()
        var result: [RawPath] = []
        for path in absolute {
            if let last = result.last, last == path || path.components.starts(with: last.components) { continue }
            result.append(path)
        }
        return result
    }

    func warn(_ message: String) {
        statistics.errors.add(1, ordering: .relaxed)
        warnings.withLock { $0.append(message) }
        logger.warning("\(message)")
    }
}
