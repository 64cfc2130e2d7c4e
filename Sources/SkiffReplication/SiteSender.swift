import Foundation
import Logging
import SkiffCore
import SkiffSiteClient
import SkiffSiteProtocol
import Synchronization

/// Delivers the outbox to one site, in order, forever: objects in bundles, several at once
/// (asking first which ones the site lacks), each seal only after everything before it. Transient
/// failures back off exponentially (0.5 s doubling to 30 s, with jitter) and retry; a site
/// that is down or slow holds back only its own cursor.
package final class SiteSender: Sendable {
    package let site: any SiteConnection
    let outbox: Outbox
    let logger: Logger
    let parallelUploads: Int
    package let reachable = Atomic<Bool>(true)
    package let uploadedObjects = Atomic<Int>(0)
    package let uploadedBytes = Atomic<Int>(0)

    /// Outbox entries taken per round (one "missing" query, then their bundles).
    static let batchSize = 1024
    /// Target size of one upload request: large enough that per-request costs (HTTP, TLS
    /// records, routing, authentication) vanish beside the bytes, small enough to keep
    /// `parallelUploads` of them in memory per site.
    static let bundleBytes = 4 << 20

    package init(site: any SiteConnection, outbox: Outbox, logger: Logger, parallelUploads: Int = 3) {
        self.site = site
        self.outbox = outbox
        self.logger = logger
        self.parallelUploads = parallelUploads
    }

    /// Runs until cancelled: rounds of `deliverNext`, waiting for new entries when the site has
    /// everything, and backing off after a failure (`recordFailure`).
    package func run() async {
        var backoff = Backoff()
        var through = (try? outbox.cursor(site.name).deliveredThrough) ?? 0
        while !Task.isCancelled {
            do {
                guard let delivered = try await deliverNext(after: through) else {
                    await outbox.waitForEntries(after: through)
                    continue
                }
                through = delivered
                reachable.store(true, ordering: .relaxed)
                backoff.reset()
            } catch is CancellationError {
                return
            } catch {
                let delay = await recordFailure(error, backoff: &backoff)
                do { try await Task.sleep(for: delay) } catch { return }
            }
        }
    }

    /// One round of delivery: the objects that come next in the outbox after `through` (up to
    /// `batchSize`), or else the seal that comes next, delivered and acknowledged.
    /// - Returns: the sequence the site now holds everything through, or nil when nothing is
    ///   queued after `through`.
    /// - Throws: what the site or the outbox threw. Nothing of the round is acknowledged then:
    ///   the same entries come first in the next round (the site keeps what it already took).
    package func deliverNext(after through: Int64) async throws -> Int64? {
        let entries = try outbox.entries(after: through, limit: Self.batchSize)
        guard let first = entries.first else { return nil }
        let objects = entries.prefix { if case .object = $0.payload { return true } else { return false } }
        if let last = objects.last {
            try await deliver(Array(objects))
            try await outbox.acknowledge(site: site.name, through: last.sequence)
            return last.sequence
        }
        guard case .seal(let seal) = first.payload else { return through }
        try await deliver(seal)
        try await outbox.acknowledge(site: site.name, through: first.sequence, seal: seal)
        return first.sequence
    }

    /// Records a failed round: the site counts as unreachable when the error is transient, the
    /// error goes into its cursor and the log. Returns how long to wait before the next round:
    /// the backoff's next delay, its longest when the error is not transient.
    func recordFailure(_ error: any Error, backoff: inout Backoff) async -> Duration {
        let transient = (error as? SiteClientError)?.isTransient ?? false
        if transient { reachable.store(false, ordering: .relaxed) }
        try? await outbox.recordError(site: site.name, "\(error)")
        logger.warning("delivery to site failed; will retry", metadata: ["site": "\(site.name)", "error": "\(error)"])
        return backoff.next(longer: !transient)
    }

    /// Uploads the objects the site lacks, in bundles of up to `bundleBytes`, several bundles
    /// at once.
    private func deliver(_ entries: [OutboxEntry]) async throws {
        let objects = entries.compactMap { entry -> (address: ObjectAddress, size: Int)? in
            if case .object(let address, let size) = entry.payload { return (address, size) }
            return nil
        }
        let lacking = try await site.missing(objects.map(\.address))
        let sizeOf = Dictionary(objects.map { ($0.address, $0.size) }, uniquingKeysWith: { first, _ in first })
        var bundles: [[ObjectAddress]] = []
        var bundle: [ObjectAddress] = []
        var bundleSize = 0
        for object in objects where lacking.contains(object.address) {
            if !ObjectBundle.accepts(object.size, count: bundle.count, bytes: bundleSize, targetBytes: Self.bundleBytes) {
                bundles.append(bundle)
                bundle = []
                bundleSize = 0
            }
            bundle.append(object.address)
            bundleSize += ObjectBundle.framing + object.size
        }
        if !bundle.isEmpty { bundles.append(bundle) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            var inFlight = 0
            while next < bundles.count || inFlight > 0 {
                while inFlight < parallelUploads && next < bundles.count {
                    let addresses = bundles[next]
                    next += 1
                    inFlight += 1
                    group.addTask {
                        // Each object is read from the outbox when the upload reaches it.
                        let sizes = addresses.map { sizeOf[$0] ?? 0 }
                        _ = try await self.site.putObjects(addresses, sizes: sizes) { [outbox = self.outbox] in try await outbox.objectBytes($0) }
                        self.uploadedObjects.add(addresses.count, ordering: .relaxed)
                        self.uploadedBytes.add(sizes.reduce(0, +), ordering: .relaxed)
                    }
                }
                if try await group.next() != nil { inFlight -= 1 }
            }
        }
    }

    /// Uploads a seal. When the site says objects are missing (it lost them), re-sends those
    /// still in the spool and tries again, as long as that makes progress. When the seal does
    /// not continue the site's chain because the site lost seals it had accepted (restored
    /// from an old copy), re-delivers the lost ones first (`catchUp`).
    private func deliver(_ seal: Seal) async throws {
        do {
            try await putSeal(seal)
        } catch SiteClientError.rejected(_, _, .chainConflict?, _, _) {
            guard try await catchUp(before: seal) else { throw SiteClientError.rejected(site: site.name, status: 409, code: .chainConflict,
                                                                                       message: "seal #\(seal.sequence) does not continue the site's chain, and the site's newest seal of \(seal.hostName) is not one of this host's", addresses: []) }
            try await putSeal(seal)
        }
        logger.info("site accepted seal", metadata: ["site": "\(site.name)", "seal": "\(seal.name.short)"])
    }

    /// `putSeal`, re-sending the objects the site lacks from the spool while it names new ones.
    private func putSeal(_ seal: Seal) async throws {
        var resent = Set<ObjectAddress>()
        while true {
            do {
                _ = try await site.putSeal(seal)
                return
            } catch SiteClientError.rejected(_, _, .missingObjects?, let message, let addresses) {
                let missing = addresses.compactMap { ObjectAddress(hex: $0) }.filter { !resent.contains($0) }
                var lost = 0
                for address in missing {
                    guard try await outbox.hasObject(address) else {
                        lost += 1
                        continue
                    }
                    try await site.putObject(address, bytes: try await outbox.objectBytes(address))
                    resent.insert(address)
                }
                guard lost == 0, !missing.isEmpty else {
                    throw ReplicationError.siteLostObjects(site: site.name, count: max(lost, 1), detail: message)
                }
            }
        }
    }

    /// Whether the site lost seals of this host that it had accepted (its newest is older than
    /// the one `seal` follows, and is one this host made); if so, re-delivers the lost ones.
    /// Returns false when the conflict is not a loss (a fork, which is not repaired here).
    func catchUp(before seal: Seal) async throws -> Bool {
        try await redeliver(host: seal.hostName, through: seal.sequence - 1) != nil
    }

    /// Brings the site's chain of `host` up to this host's seal `sequence`: when the site's
    /// newest seal is older and is one this host made, re-delivers the seals after it in order,
    /// each with the objects it reaches that the site lacks (from the spool, kept
    /// `Outbox.keepDelivered`). Idempotent.
    /// - Returns: how many seals were delivered (0: the site was not behind), or nil when the
    ///   site's newest seal of `host` is not one of this host's (a fork: nothing is sent).
    /// - Throws: `ReplicationError` when the site needs what this host no longer holds.
    package func redeliver(host: String, through sequence: UInt64) async throws -> Int? {
        let held = try await site.newestSeal(host: host)
        let heldSequence = held?.sequence ?? 0
        if let held {
            guard try outbox.seals(held.sequence...held.sequence).first?.hash == held.hash else { return nil }
        }
        guard heldSequence < sequence else { return 0 }
        let lost = try outbox.seals((heldSequence + 1)...sequence)
        guard lost.count == Int(sequence - heldSequence) else {
            throw ReplicationError.sealsNotKept(site: site.name, from: heldSequence + 1, through: sequence)
        }
        logger.warning("site lacks seals it had accepted; delivering them again", metadata: [
            "site": "\(site.name)", "site-newest": "\(heldSequence)", "seals": "\(lost.count)",
        ])
        try? await outbox.recordError(site: site.name, "the site holds \(host)#\(heldSequence) but had accepted #\(sequence): it lost \(lost.count) seals (restored from an old copy?); delivering them again")
        for lostSeal in lost { try await putSeal(lostSeal) }
        return lost.count
    }
}

/// Exponential backoff with jitter.
struct Backoff {
    private var attempt = 0

    mutating func reset() { attempt = 0 }

    /// The next delay: 0.5 s doubling to 30 s, ±20%; final errors wait the maximum.
    mutating func next(longer: Bool = false) -> Duration {
        attempt += 1
        let base = longer ? 30.0 : min(30.0, 0.5 * pow(2.0, Double(attempt - 1)))
        return .milliseconds(Int(base * Double.random(in: 0.8...1.2) * 1000))
    }
}

package enum ReplicationError: Error, Equatable, CustomStringConvertible {
    /// The site lacks objects the host no longer holds: heal it from another site.
    case siteLostObjects(site: String, count: Int, detail: String)
    /// The site lost seals that the host no longer holds either (an outbox from before seals
    /// were kept): heal it from another site.
    case sealsNotKept(site: String, from: UInt64, through: UInt64)

    package var description: String {
        switch self {
        case .siteLostObjects(let site, let count, let detail):
            return "site \(site) lacks \(count) objects this host no longer holds (\(detail)); heal it from another site (skiff heal --to \(site))"
        case .sealsNotKept(let site, let from, let through):
            return "site \(site) lost seals #\(from) to #\(through), which this host no longer holds; heal it from another site (skiff heal --to \(site))"
        }
    }
}
