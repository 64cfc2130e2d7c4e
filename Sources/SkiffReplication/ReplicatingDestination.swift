import Foundation
import SkiffBackup
import SkiffCore
import SkiffSiteClient

/// A snapshot destination that writes to the host's outbox once and lets one sender per site
/// deliver it. `commit` returns once the seal is durably queued; whether a quorum of sites
/// accepted it is a separate question (`Replicator.waitForQuorum`).
package struct ReplicatingDestination: SnapshotDestination {
    package let outbox: Outbox
    package let sites: [any SiteConnection]
    /// When the oldest change the next seal answers was seen (Unix seconds), if it answers
    /// changes: the agent sets it per snapshot so sites' acknowledgements measure the recovery
    /// point (`Outbox.observeDurability`).
    package var changesSince: Double?

    package init(outbox: Outbox, sites: [any SiteConnection]) {
        self.outbox = outbox
        self.sites = sites
    }

    package func put(_ object: EncodedObject) async throws -> Bool {
        try await outbox.append(object)
    }

    package func checkpoint() async throws {
        try await outbox.commit()
    }

    /// Appends the seal, durably, after its objects.
    package func commit(_ seal: Seal) async throws {
        _ = try await outbox.append(seal, changesSince: changesSince)
    }

    /// The newest seal this host made: from its own outbox, or, on a host whose state was
    /// lost, the newest one any reachable site holds.
    package func latestSeal(host: String) async throws -> Seal? {
        if let seal = try outbox.lastSeal(), seal.hostName == host { return seal }
        var newest: Seal?
        for site in sites {
            guard let seal = try? await site.newestSeal(host: host) else { continue }
            if newest.map({ seal.sequence > $0.sequence }) ?? true { newest = seal }
        }
        return newest
    }
}
