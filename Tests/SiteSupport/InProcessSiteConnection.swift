import SkiffCore
import SkiffSite
import SkiffSiteClient
import SkiffSiteProtocol
import Synchronization

/// A `SiteConnection` to an `InProcessSite`: each verb checks the principal's role as the site's
/// middleware does, then calls the `SiteService` verb the HTTPS route would, and a refusal comes back as the
/// `SiteClientError.rejected` the HTTPS client would make of it (same status, code, message and
/// addresses). It records every call, and can fail chosen calls instead of forwarding them, so a
/// test sees what a sender asked of the site and how it copes with a site that fails.
package final class InProcessSiteConnection: SiteConnection {
    /// The verbs of `SiteConnection`.
    package enum Verb: String, Sendable {
        case missing, putObject, putObjects, putSeal, newestSeal

        /// The protocol operation the HTTPS client sends for the verb (a newest seal is found by
        /// listing), whose role check `forward` applies as the site's middleware does.
        var operation: SiteOperation {
            switch self {
            case .missing: return .missing
            case .putObject: return .putObject
            case .putObjects: return .putObjects
            case .putSeal: return .putSeal
            case .newestSeal: return .listSeals
            }
        }
    }

    /// One call: its verb and the addresses it carried (for a seal, its root).
    package struct Call: Sendable, Equatable {
        package var verb: Verb
        package var addresses: [ObjectAddress]
    }

    private struct State {
        var calls: [Call] = []
        var failures: [Verb: [any Error]] = [:]
    }

    package let name: String
    package let service: SiteService
    package let tenant: TenantRecord
    package let principal: Principal
    private let state = Mutex(State())

    package init(name: String, service: SiteService, tenant: TenantRecord, principal: Principal) {
        self.name = name
        self.service = service
        self.tenant = tenant
        self.principal = principal
    }

    /// Every call so far, in order.
    package var calls: [Call] { state.withLock { $0.calls } }

    /// The calls of one verb so far.
    package func calls(_ verb: Verb) -> [Call] { calls.filter { $0.verb == verb } }

    /// Makes the next `times` calls of `verb` throw `error` instead of reaching the site (they
    /// are still recorded).
    package func fail(_ verb: Verb, with error: any Error, times: Int = 1) {
        state.withLock { $0.failures[verb, default: []] += Array(repeating: error, count: times) }
    }

    /// An unreachable site, as the HTTPS client reports a refused connection (transient).
    package var unreachable: SiteClientError { .unreachable(site: name, "connection refused (injected)") }

    /// Records the call, throws an injected failure if one is due, else runs `body` with site
    /// refusals translated as the HTTPS client translates them.
    private func forward<T>(_ verb: Verb, _ addresses: [ObjectAddress], _ body: () async throws -> T) async throws -> T {
        let failure = state.withLock { state -> (any Error)? in
            state.calls.append(Call(verb: verb, addresses: addresses))
            guard var queued = state.failures[verb], !queued.isEmpty else { return nil }
            let first = queued.removeFirst()
            state.failures[verb] = queued
            return first
        }
        if let failure { throw failure }
        do {
            try principal.authorize(verb.operation)
            return try await body()
        } catch let error as SiteError {
            throw SiteClientError.rejected(site: name, status: error.status, code: error.code, message: error.message, addresses: error.addresses)
        }
    }

    package func missing(_ addresses: [ObjectAddress]) async throws -> Set<ObjectAddress> {
        try await forward(.missing, addresses) {
            var lacking = Set<ObjectAddress>()
            var start = 0
            while start < addresses.count {
                let page = Array(addresses[start..<min(start + SiteService.maxQueryItems, addresses.count)])
                lacking.formUnion(try await service.missing(tenant: tenant, addresses: page, identities: [], principal: principal).missing)
                start += page.count
            }
            return lacking
        }
    }

    package func putObject(_ address: ObjectAddress, bytes: [UInt8]) async throws {
        _ = try await forward(.putObject, [address]) {
            try await service.putObject(tenant: tenant, address: address, bytes: bytes, principal: principal)
        }
    }

    package func putObjects(_ objects: [(address: ObjectAddress, bytes: [UInt8])]) async throws -> BundleAcceptance {
        try await forward(.putObjects, objects.map(\.address)) {
            try await service.putObjects(tenant: tenant, objects: objects, principal: principal)
        }
    }

    package func putSeal(_ seal: Seal) async throws -> Bool {
        try await forward(.putSeal, [seal.root]) {
            try await service.putSeal(tenant: tenant, bytes: seal.encoded, principal: principal).1
        }
    }

    /// Pages through the host's seals as the HTTPS client does, then reads the newest.
    package func newestSeal(host: String) async throws -> Seal? {
        try await forward(.newestSeal, []) {
            var newest: SealIndexEntry?
            var after: (String, UInt64)?
            while true {
                let page = try await service.listSeals(tenant: tenant, host: host, since: nil, until: nil, after: after, limit: 10_000, principal: principal)
                guard let last = page.last else { break }
                newest = last
                after = (last.host, last.sequence)
            }
            guard let newest, let name = newest.name else { return nil }
            return try Seal.decode(try await service.getSeal(tenant: tenant, name: name, principal: principal))
        }
    }
}
