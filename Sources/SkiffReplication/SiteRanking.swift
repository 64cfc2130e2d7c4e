import SkiffCore
import SkiffSiteClient

/// Health probes of sites, and the order in which a host reads from them.
///
/// Contract:
/// - A probe asks one site's health endpoint (connecting first when needed). The site answers
///   when that succeeds; any error leaves it out, and so does a `timeout`, when one is given
///   (the probe is then cancelled).
/// - `rank` probes every site at once and orders the ones that answered by the time their
///   probe took, connection included: fastest first; equal times keep the given order. It
///   takes as long as the slowest probe.
/// - A probe measures one moment: nothing is remembered between calls.
package enum SiteRanking {
    /// How long `status` waits for each site by default (`skiff status`).
    package static let statusProbeTimeout: Duration = .seconds(5)

    /// How long commands that have just delivered (`skiff backup`, `skiff sync`) wait for each
    /// site when they report its status: the delivery itself already showed which sites answer.
    package static let afterDeliveryProbeTimeout: Duration = .milliseconds(500)

    /// The sites that answered, fastest first, and the ones that did not, with why.
    package struct Ranking: Sendable {
        /// Connected clients, fastest probe first. The caller shuts them down.
        package var clients: [SiteClient]
        /// Sites that did not answer, in the given order, with the error each gave.
        package var unavailable: [(site: String, problem: String)]
    }

    /// Connects to every endpoint and asks its health, all at once, with no timeout (a site
    /// that cannot be reached fails when its connection does). Clients of sites that fail
    /// are shut down here.
    package static func rank(_ endpoints: [SiteEndpoint], tenant: TenantID) async -> Ranking {
        let probes = await withTaskGroup(of: (Int, Result<(SiteClient, Duration), any Error>).self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        let client = try await SiteClient.connect(endpoint, tenant: tenant)
                        do {
                            _ = try await client.health()
                        } catch {
                            try? await client.shutdown()
                            throw error
                        }
                        return (index, .success((client, ContinuousClock.now - started)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Result<(SiteClient, Duration), any Error>?](repeating: nil, count: endpoints.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
        var answered: [(SiteClient, Duration)] = []
        var unavailable: [(site: String, problem: String)] = []
        for (endpoint, probe) in zip(endpoints, probes) {
            switch probe {
            case .success(let measured): answered.append(measured)
            case .failure(let error): unavailable.append((endpoint.name, "\(error)"))
            }
        }
        return Ranking(clients: order(answered), unavailable: unavailable)
    }

    /// Whether `site` answers its health endpoint within `timeout`.
    package static func answers(_ site: ReconnectingSite, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await site.client().health()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// The ranking rule alone: items by their measured time, shortest first, equal times in
    /// the given order.
    package static func order<Item>(_ measured: [(Item, Duration)]) -> [Item] {
        measured.enumerated()
            .sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }
            .map(\.element.0)
    }
}
