import Foundation
import SkiffCore
import SkiffSiteProtocol
import SkiffStorage

/// One disagreement between a tenant's store and the site's index (`skiff-site check`).
package struct IndexFinding: Codable, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Codable, Sendable {
        /// A seal file the index does not list: invisible to readers and auditors. Repaired by
        /// indexing it, once it verifies.
        case unindexedSeal = "unindexed-seal"
        /// A seal file that does not verify (tenant key, registered host) or contradicts the
        /// index at its sequence: left alone, for an administrator.
        case unverifiableSeal = "unverifiable-seal"
        /// An indexed seal whose file is gone: heal it from another site, or let the host re-send
        /// it (`skiff heal`, `skiff sync`).
        case missingSealFile = "missing-seal-file"
        /// A seal file whose bytes do not hash to its name: heal it, as for a missing one.
        case damagedSealFile = "damaged-seal-file"
        /// A retired seal indexed as retained, or the reverse. Repaired in the index.
        case misplacedSeal = "misplaced-seal"
        /// A host's head is not its newest indexed seal. Repaired in the index.
        case wrongHead = "wrong-head"
    }

    package var kind: Kind
    package var tenant: String
    /// "host#sequence hash-prefix", or the host for `wrongHead`.
    package var seal: String
    package var message: String
    /// Whether this check repaired it (only with repair, and only index-side problems).
    package var repaired: Bool

    package var description: String { "[\(kind.rawValue)] tenant \(tenant), \(seal): \(message)\(repaired ? " (repaired)" : "")" }
}

/// Checking a tenant's seal index against its store, repairing what the index can repair, and
/// rebuilding the whole registry from the stores.
extension SiteService {
    /// Compares the seal files in the tenant's store with its index: every file indexed, every
    /// indexed seal's file present (and, `deep`, intact: its bytes hash to its name), retired
    /// where the index says so, every head the newest indexed seal. With `repair`, fixes what
    /// the index can (indexes verified unindexed files, moves flags and heads); the rest needs
    /// the seal from another site or from its host. Read-only without `repair`.
    package func checkIndex(tenant: TenantRecord, deep: Bool, repair: Bool) async throws -> [IndexFinding] {
        let store = try store(tenant.id)
        let repository = Repository(store: store, location: "site")
        var findings: [IndexFinding] = []
        func found(_ kind: IndexFinding.Kind, _ seal: String, _ message: String, repaired: Bool = false) {
            findings.append(IndexFinding(kind: kind, tenant: tenant.name, seal: seal, message: message, repaired: repaired))
        }
        var indexed: [String: SealIndexEntry] = [:]
        for entry in try registry.allSeals(tenant: tenant.id) { indexed["\(entry.host)#\(entry.sequence)"] = entry }
        var files: [String: (name: SealName, retired: Bool)] = [:]
        // Retired ones last: a seal left in both folders by an interrupted retirement is retired.
        for (names, retired) in [(try await repository.sealNames(), false), (try await repository.retiredSealNames(), true)] {
            for name in names { files["\(name.host)#\(name.sequence)"] = (name, retired) }
        }
        for (key, file) in files.sorted(by: { $0.value.name < $1.value.name }) {
            let name = file.name
            if let entry = indexed[key], entry.hash == name.hash.hex {
                if (entry.retired != nil) != file.retired {
                    if repair {
                        if file.retired { try registry.markRetired(tenant: tenant.id, host: name.host, sequence: name.sequence) }
                        else { try registry.markRetained(tenant: tenant.id, host: name.host, sequence: name.sequence) }
                    }
                    found(.misplacedSeal, name.short, "its file is \(file.retired ? "retired" : "retained") but the index says otherwise", repaired: repair)
                }
                if deep {
                    let key: StoreKey = file.retired ? .retiredSeal(name) : .seal(name)
                    let bytes = try await store.get(key)
                    if SHA256Hasher.digest(bytes) != name.hash {
                        found(.damagedSealFile, name.short, "its \(bytes.count) bytes do not hash to its name; heal it from another site (skiff heal) or let its host re-send it")
                    }
                }
                continue
            }
            if let entry = indexed[key] {
                found(.unverifiableSeal, name.short, "the index holds another seal at this sequence (\(entry.hash.prefix(12))); left alone")
                continue
            }
            do {
                let seal = try await verifiedSeal(name, retired: file.retired, tenant: tenant, repository: repository)
                if repair {
                    let accepted = try await store.age(file.retired ? .retiredSeal(name) : .seal(name)).map { Date(timeIntervalSince1970: Double($0.modified)) }
                    try registry.recordSeal(seal, tenant: tenant.id, accepted: accepted ?? Date())
                    if file.retired { try registry.markRetired(tenant: tenant.id, host: name.host, sequence: name.sequence, at: accepted ?? Date()) }
                }
                found(.unindexedSeal, name.short, "a verified seal file the index does not list (readers did not see it)", repaired: repair)
            } catch {
                found(.unverifiableSeal, name.short, "an unindexed seal file that does not verify: \(error); left alone")
            }
        }
        for (key, entry) in indexed.sorted(by: { $0.key < $1.key }) where files[key]?.name.hash.hex != entry.hash {
            let short = entry.name?.short ?? key
            found(.missingSealFile, short, "indexed, but its file is gone; heal it from another site (skiff heal) or let its host re-send it (skiff sync)")
        }
        findings += try checkHeads(tenant: tenant, repair: repair)
        return findings
    }

    /// Every host's head against its newest indexed seal.
    private func checkHeads(tenant: TenantRecord, repair: Bool) throws -> [IndexFinding] {
        var newest: [String: SealIndexEntry] = [:]
        for entry in try registry.allSeals(tenant: tenant.id) where entry.sequence > newest[entry.host]?.sequence ?? 0 { newest[entry.host] = entry }
        let heads = try registry.heads(tenant: tenant.id)
        var findings: [IndexFinding] = []
        for (host, entry) in newest.sorted(by: { $0.key < $1.key }) {
            guard let hash = Digest256(hex: entry.hash), heads[host]?.sequence != entry.sequence || heads[host]?.hash != hash else { continue }
            if repair { try registry.setHead(SealHead(sequence: entry.sequence, hash: hash), tenant: tenant.id, host: host) }
            findings.append(IndexFinding(kind: .wrongHead, tenant: tenant.name, seal: host,
                                         message: "the head is \(heads[host].map { "#\($0.sequence)" } ?? "missing"), the newest indexed seal #\(entry.sequence)",
                                         repaired: repair))
        }
        return findings
    }

    /// Rebuilds the tenant's indexes from its store: first the pack index from the packs alone
    /// (docs/FORMAT.md §7.1, P4), then every verified seal file (its file's time as its
    /// acceptance time), retired ones as retired, heads, and the identity index from every
    /// object's clear header. Complete subtrees are forgotten (the next seal walks
    /// its whole DAG once). Quarantine records and scrub passes are not in the store: they
    /// start empty. Run while the site does not serve the tenant.
    /// - Returns: packs and objects indexed, seals indexed, seal files left out (do not verify),
    ///   identities indexed.
    package func reindex(tenant: TenantRecord, progress: (Int) -> Void = { _ in }) async throws
        -> (packs: ReindexReport, seals: Int, unverifiable: [String], identities: Int)
    {
        let store = try store(tenant.id)
        let packs = try await (store as? PackedStore)?.reindex() ?? ReindexReport()
        let repository = Repository(store: store, location: "site")
        try registry.dropSealIndex(tenant: tenant.id)
        var indexed = 0
        var unverifiable: [String] = []
        for (names, retired) in [(try await repository.sealNames(), false), (try await repository.retiredSealNames(), true)] {
            for name in names {
                guard let seal = try? await verifiedSeal(name, retired: retired, tenant: tenant, repository: repository) else {
                    unverifiable.append(name.short)
                    continue
                }
                let accepted = try await store.age(retired ? .retiredSeal(name) : .seal(name)).map { Date(timeIntervalSince1970: Double($0.modified)) } ?? Date()
                try registry.recordSeal(seal, tenant: tenant.id, accepted: accepted)
                if retired { try registry.markRetired(tenant: tenant.id, host: name.host, sequence: name.sequence, at: accepted) }
                indexed += 1
            }
        }
        var identities = 0
        var batch: [(TenantID, ObjectIdentity, ObjectAddress)] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix) {
            guard let address = key.objectAddress, let identity = try? await repository.objectHeader(address).identity else { continue }
            batch.append((tenant.id, identity, address))
            if batch.count == 4096 {
                try registry.recordIdentities(batch)
                identities += batch.count
                batch.removeAll(keepingCapacity: true)
                progress(identities)
            }
        }
        try registry.recordIdentities(batch)
        identities += batch.count
        return (packs, indexed, unverifiable, identities)
    }
}

/// The registry's records of tenants and hosts, mirrored into each tenant's store (`tenant`,
/// `hosts/<host>/<fingerprint>`), so that a site whose registry is lost entirely can rebuild
/// it from its stores. Tokens are not mirrored (the site keeps only their hashes): after such
/// a rebuild they are issued again; the audit trail starts anew.
package struct TenantRecordFile: Codable, Sendable {
    package var name: String
    /// The tenant public key, armored.
    package var publicKey: String
}

extension SiteService {
    /// Writes the tenant's record and its registered hosts' certificates into its store where
    /// they are missing, and removes the certificates of hosts no longer registered.
    /// Idempotent.
    package func mirrorRegistry(tenant: TenantRecord) async throws {
        let store = try store(tenant.id)
        let record = TenantRecordFile(name: tenant.name, publicKey: tenant.publicKey.armored)
        _ = try await store.put(.tenantRecord, Array(try JSONEncoder().encode(record)))
        let hosts = try registry.hosts(tenant: tenant.id)
        var wanted = Set<String>()
        for host in hosts {
            let key = StoreKey.hostCertificate(host: host.name, fingerprint: host.certificate.publicKey.fingerprint)
            wanted.insert(key.path)
            _ = try await store.put(key, Array(host.certificate.armored(tenant: tenant.id).utf8))
        }
        for try await key in store.keys(prefix: StoreKey.hostsPrefix) where !wanted.contains(key.path) {
            try await store.delete(key)
        }
        try await store.flush()
    }

    /// Rebuilds the registry from the stores: every tenant that has a store and a record in
    /// it, with its hosts (the newest certificate of each, when it is the tenant's), then each
    /// tenant's seal index (`reindex`). Tenants and hosts already registered are kept as they
    /// are. What the stores do not hold (tokens, the audit trail, quarantine records) is not
    /// rebuilt.
    /// - Returns: per tenant, what `reindex` returned.
    package func rebuildRegistry(progress: (String) -> Void = { _ in }) async throws
        -> [(tenant: String, packs: ReindexReport, seals: Int, unverifiable: [String], identities: Int)]
    {
        var results: [(tenant: String, packs: ReindexReport, seals: Int, unverifiable: [String], identities: Int)] = []
        for id in try await stores.tenantIDs() {
            let store = try store(id)
            var tenant = try registry.tenant(id)
            if tenant == nil {
                let record: TenantRecordFile
                do { record = try JSONDecoder().decode(TenantRecordFile.self, from: Data(try await store.get(.tenantRecord))) } catch {
                    progress("tenant \(id.hex): no readable tenant record in its store; left out (\(error))")
                    continue
                }
                let publicKey = try TenantPublicKey.dearmor(record.publicKey)
                guard publicKey.tenant == id else {
                    progress("tenant \(id.hex): its record names another tenant; left out")
                    continue
                }
                tenant = try registry.addTenant(name: record.name, publicKey: publicKey)
                try registry.audit(actor: "reindex", action: "add-tenant", tenant: id, detail: "name \(record.name), from its store")
            }
            guard let tenant else { continue }
            var newest: [String: HostCertificate] = [:]
            for try await key in store.keys(prefix: StoreKey.hostsPrefix) {
                guard let text = try? await store.get(key), let (owner, certificate) = try? HostCertificate.dearmor(String(decoding: text, as: UTF8.self)),
                      owner == id, (try? certificate.verify(by: tenant.publicKey)) != nil else { continue }
                if certificate.issuedAt >= newest[certificate.hostName]?.issuedAt ?? .min { newest[certificate.hostName] = certificate }
            }
            for certificate in newest.values.sorted(by: { $0.hostName < $1.hostName })
            where try registry.host(tenant: id, name: certificate.hostName)?.certificate != certificate {
                _ = try registry.registerHost(tenant: tenant, certificate: certificate)
                try registry.audit(actor: "reindex", action: "register-host", tenant: id, detail: "host \(certificate.hostName), from the store")
            }
            progress("tenant \(tenant.name): indexing its seals and objects")
            let result = try await reindex(tenant: tenant)
            results.append((tenant.name, result.packs, result.seals, result.unverifiable, result.identities))
        }
        return results
    }
}
