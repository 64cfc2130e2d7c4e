import SkiffCore
import SkiffStorage

/// The seals of a repository, each read and verified against the tenant key, with the
/// problems found (unreadable, misfiled, badly signed, unknown signer, broken chain).
package struct SealCatalog: Sendable {
    /// Seals that verified, sorted by time then host and sequence: the snapshots one may
    /// restore.
    package let seals: [Seal]
    /// Seals that retention retired at a site and that verified: part of their host's chain
    /// (so the chain stays checkable after thinning), never restored from.
    package var retired: [Seal] = []
    package let problems: [SealError]
    /// For catalogs merged from several sources: which sources hold each seal (by hash).
    package var holders: [Digest256: [String]] = [:]

    /// Reads every seal (or those of `host`), retained and retired, and verifies signatures,
    /// and chains over both.
    package static func load(repository: Repository, tenant: TenantPublicKey, host: String? = nil) async throws -> SealCatalog {
        var problems: [SealError] = []
        var certifiedKeys: Set<[UInt8]> = []
        func verified(_ names: [SealName], retired: Bool) async throws -> [Seal] {
            var seals: [Seal] = []
            for name in names {
                let seal: Seal
                do {
                    seal = try await repository.seal(named: name, retired: retired)
                } catch let error as SealError {
                    problems.append(error)
                    continue
                } catch StoreError.notFound {
                    continue
                }
                do {
                    guard seal.tenant == tenant.tenant else { throw SealError.wrongTenant(name, seal.tenant) }
                    if !certifiedKeys.contains(seal.certificate.signature) {
                        do { try seal.certificate.verify(by: tenant) } catch {
                            throw SealError.unknownSigner(name, seal.certificate.publicKey.fingerprint)
                        }
                        certifiedKeys.insert(seal.certificate.signature)
                    }
                    try seal.verifySignature()
                    seals.append(seal)
                } catch let error as SealError {
                    problems.append(error)
                }
            }
            return seals
        }
        var seals = try await verified(try await repository.sealNames(host: host), retired: false)
        let retiredNames = try await repository.retiredSealNames(host: host)
        // A seal retired while this listing ran shows up in both: it counts as retired.
        let retired = try await verified(retiredNames, retired: true)
        let retiredHashes = Set(retired.map(\.hash))
        seals.removeAll { retiredHashes.contains($0.hash) }
        for (_, hostSeals) in Dictionary(grouping: seals + retired, by: \.hostName) {
            problems += SealChain.problems(in: hostSeals)
        }
        seals.sort { ($0.time, $0.hostName, $0.sequence) < ($1.time, $1.hostName, $1.sequence) }
        var catalog = SealCatalog(seals: seals, problems: problems)
        catalog.retired = retired.sorted { ($0.hostName, $0.sequence) < ($1.hostName, $1.sequence) }
        return catalog
    }

    package var hosts: [String] { Array(Set(seals.map(\.hostName))).sorted() }

    /// One catalog of several sources' catalogs: every verified seal once, with the sources
    /// that hold it; problems are kept with the source they were found at.
    package static func merged(_ catalogs: [(source: String, catalog: SealCatalog)]) -> (SealCatalog, [(String, SealError)]) {
        var byHash: [Digest256: Seal] = [:]
        var holders: [Digest256: [String]] = [:]
        var problems: [(String, SealError)] = []
        for (source, catalog) in catalogs {
            for seal in catalog.seals {
                byHash[seal.hash] = seal
                holders[seal.hash, default: []].append(source)
            }
            problems += catalog.problems.map { (source, $0) }
        }
        let seals = byHash.values.sorted { ($0.time, $0.hostName, $0.sequence) < ($1.time, $1.hostName, $1.sequence) }
        var merged = SealCatalog(seals: seals, problems: [])
        merged.holders = holders
        return (merged, problems)
    }

    /// Seals whose time lies between `start` and `end` (inclusive), of `host` if given.
    package func seals(between start: Timestamp?, and end: Timestamp?, host: String?) -> [Seal] {
        seals.filter { seal in
            (host == nil || seal.hostName == host) && (start.map { seal.time >= $0 } ?? true) && (end.map { seal.time <= $0 } ?? true)
        }
    }

    /// The seal that `selector` names.
    package func select(_ selector: SnapshotSelector) throws -> Seal {
        switch selector {
        case .latest(let host):
            let candidates = try sealsOf(host)
            guard let seal = candidates.last else { throw SelectionError.noSnapshots(host) }
            return seal
        case .at(let time, let host):
            let candidates = try sealsOf(host)
            guard let seal = candidates.last(where: { $0.time <= time }) else { throw SelectionError.noneBefore(time, host) }
            return seal
        case .id(let text):
            let matches: [Seal]
            if let hash = text.firstIndex(of: "#") {
                let host = String(text[..<hash])
                let sequence = UInt64(text[text.index(after: hash)...])
                matches = seals.filter { $0.hostName == host && $0.sequence == sequence }
            } else {
                let prefix = text.lowercased()
                guard prefix.count >= 6 else { throw SelectionError.idTooShort(text) }
                matches = seals.filter { $0.hash.hex.hasPrefix(prefix) }
            }
            guard !matches.isEmpty else { throw SelectionError.notFound(text) }
            guard matches.count == 1 else { throw SelectionError.ambiguous(text, matches.map { $0.name.short }) }
            return matches[0]
        }
    }

    private func sealsOf(_ host: String?) throws -> [Seal] {
        if let host { return seals.filter { $0.hostName == host } }
        let hosts = self.hosts
        guard hosts.count <= 1 else { throw SelectionError.severalHosts(hosts) }
        return seals
    }
}

/// Which snapshot to use.
package enum SnapshotSelector: Sendable, Equatable {
    /// The newest seal (of `host`, required when the repository has several hosts).
    case latest(host: String?)
    /// A seal hash prefix (at least 6 hex digits) or "host#sequence".
    case id(String)
    /// The newest seal at or before a time.
    case at(Timestamp, host: String?)
}

package enum SelectionError: Error, Equatable, CustomStringConvertible {
    case noSnapshots(String?)
    case noneBefore(Timestamp, String?)
    case notFound(String)
    case ambiguous(String, [String])
    case idTooShort(String)
    case severalHosts([String])

    package var description: String {
        switch self {
        case .noSnapshots(let host): return "no snapshots" + (host.map { " of host \($0)" } ?? "")
        case .noneBefore(let time, let host):
            return "no snapshot" + (host.map { " of host \($0)" } ?? "") + " at or before \(TimeFormat.iso8601(time))"
        case .notFound(let id): return "no snapshot matches \(id)"
        case .ambiguous(let id, let matches): return "\(id) matches several snapshots: \(matches.joined(separator: ", "))"
        case .idTooShort(let id): return "snapshot id \(id) is too short: give at least 6 hex digits, or host#sequence"
        case .severalHosts(let hosts): return "the repository holds several hosts (\(hosts.joined(separator: ", "))): choose one with --host"
        }
    }
}
