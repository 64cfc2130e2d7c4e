import Foundation
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem

/// Seals at a site: acceptance (a seal continues its host's chain and reaches only stored
/// objects), indexing what other site processes accepted, listing and reading.
extension SiteService {

    /// Accepts a seal only if: it parses; it is for this tenant; a writer seals only its own
    /// host; the host is registered with this key and certified by the tenant; the signature
    /// verifies; it continues the host's chain (sequence = head + 1, previous = head hash);
    /// it is plausible; and every object it reaches is stored. Objects are made durable
    /// before the seal is written (ordering rule W2).
    ///
    /// A seal at or below the head is one this site accepted before (rule S10): when its file
    /// is held intact, re-sending it is an idempotent success; when the file was lost or
    /// damaged, it is checked again exactly as at first acceptance and stored again
    /// (`SiteService.recover`), so a heal or the host can bring a lost seal back.
    /// - Returns: the seal's name and whether it was stored now (accepted or recovered).
    package func putSeal(tenant: TenantRecord, bytes: [UInt8], principal: Principal) async throws -> (SealName, Bool) {
        let seal: Seal
        do { seal = try Seal.decode(bytes) } catch {
            throw SiteError.malformedSeal("\(error)")
        }
        guard seal.tenant == tenant.id else { throw SiteError.wrongTenant("the seal is for tenant \(seal.tenant)") }
        if principal.role == .writer, principal.host != seal.hostName {
            throw SiteError.wrongHost("this token writes for host \(principal.host ?? "?"), not \(seal.hostName)")
        }
        guard let host = try registry.host(tenant: tenant.id, name: seal.hostName) else {
            throw SiteError.unknownSigner("host \(seal.hostName) is not registered for this tenant")
        }
        guard host.certificate.publicKey == seal.certificate.publicKey, (try? seal.certificate.verify(by: tenant.publicKey)) != nil else {
            throw SiteError.unknownSigner("the seal is signed by key \(seal.certificate.publicKey.fingerprint.prefix(16))…, not the key registered for \(seal.hostName)")
        }
        do { try seal.verifySignature() } catch {
            throw SiteError.badSignature("the signature of seal \(seal.name.short) does not verify")
        }
        let store = try store(tenant.id)
        return try await sealLocks.withLock("\(tenant.id.hex)/\(seal.hostName)") {
            if store.isShared { try await catchUp(tenant: tenant, host: seal.hostName, store: store) }
            let head = try registry.head(tenant: tenant.id, host: seal.hostName)
            if let head, seal.sequence <= head.sequence {
                return try await recover(seal, bytes: bytes, tenant: tenant, store: store, principal: principal)
            }
            let continues = head.map { seal.sequence == $0.sequence + 1 && seal.previous == $0.hash } ?? (seal.sequence == 1)
            guard continues else {
                let state = head.map { "the newest seal of \(seal.hostName) here is #\($0.sequence) \($0.hash.hex.prefix(12))" } ?? "no seal of \(seal.hostName) is here yet"
                throw SiteError.chainConflict("seal #\(seal.sequence) does not continue the chain: \(state)")
            }
            try await admit(seal, bytes: bytes, at: .seal(seal.name), replacing: false, tenant: tenant, store: store)
            metrics.sealAccepted(tenant: tenant.name, host: seal.hostName, time: seal.time)
            logger.info("accepted seal", metadata: ["tenant": "\(tenant.name)", "seal": "\(seal.name.short)"])
            return (seal.name, true)
        }
    }

    /// The checks every seal passes before it is stored, at first acceptance and when it is
    /// recovered, then the store: plausible against the seal before it (its time from the
    /// index), every object below it present (made durable first), a snapshot at its root,
    /// its sequence claimed, its bytes written under `key` (over a damaged copy when
    /// `replacing`) and flushed, the index updated.
    /// - Throws: `implausible-seal`, `missing-objects`, `chain-conflict` (the claim).
    func admit(_ seal: Seal, bytes: [UInt8], at key: StoreKey, replacing: Bool, tenant: TenantRecord, store: any CollectableStore) async throws {
        let previousTime = try registry.sealEntry(tenant: tenant.id, host: seal.hostName, sequence: seal.sequence - 1)
            .map { Timestamp(unixNanoseconds: $0.time) }
        if let problem = SealPlausibility.problem(seal, previousTime: previousTime, now: Timestamp(unixNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))) {
            throw SiteError.implausibleSeal("seal #\(seal.sequence) of \(seal.hostName) is refused: \(problem)")
        }
        let (missing, reached) = try await missingBelow(seal.root, tenant: tenant.id, store: store)
        guard missing.isEmpty else {
            throw SiteError.missingObjects(Array(missing.prefix(1000)))
        }
        let rootKind = try await Repository(store: store, location: "site").objectHeader(seal.root).kind
        guard rootKind == .snapshot else {
            throw SiteError.implausibleSeal("seal #\(seal.sequence) of \(seal.hostName) is refused: its root is a \(rootKind) object, not a snapshot")
        }
        try await store.flush()
        try await claim(seal, store: store)
        if replacing { try await store.replaceDamaged(key, bytes) } else { _ = try await store.put(key, bytes) }
        try await store.flush()
        try registry.recordSeal(seal, tenant: tenant.id)
        quotas.sealed(reached, tenant: tenant.id)
    }

    /// Claims the seal's sequence in the store (rule S6): a conditional create, so of two site
    /// processes sharing a bucket only one can take a sequence. Re-claiming with the same seal
    /// (a retry, or a crash between claim and seal) succeeds.
    /// - Throws: `chainConflict` when another seal holds the sequence.
    func claim(_ seal: Seal, store: any CollectableStore) async throws {
        let key = StoreKey.chainClaim(host: seal.hostName, sequence: seal.sequence)
        guard try await store.put(key, seal.hash.bytes) == .alreadyPresent else { return }
        let holder = try await store.get(key)
        guard holder != seal.hash.bytes else { return }
        throw SiteError.chainConflict("seal #\(seal.sequence) of \(seal.hostName) was already taken by another seal (\(Hex.encode(holder.prefix(6))))")
    }

    /// `catchUp` for every registered host of the tenant; nothing on a store of this process alone.
    func catchUpEveryHost(tenant: TenantRecord) async throws {
        for host in try registry.hosts(tenant: tenant.id) { try await catchUp(tenant: tenant, host: host.name) }
    }

    /// `catchUp` under the host's seal lock; nothing on a store of this process alone.
    func catchUp(tenant: TenantRecord, host: String) async throws {
        let store = try store(tenant.id)
        guard store.isShared else { return }
        try await sealLocks.withLock("\(tenant.id.hex)/\(host)") { try await catchUp(tenant: tenant, host: host, store: store) }
    }

    /// Indexes the host's seals that other site processes sharing the store accepted since this
    /// one's newest (one listing from the head on), and marks retired those another process's
    /// retention moved to `retired/` (one listing of them). Seals that do not verify are left out
    /// (and logged).
    func catchUp(tenant: TenantRecord, host: String, store: any CollectableStore) async throws {
        for try await key in store.keys(prefix: "\(StoreKey.retiredPrefix)\(host)/") {
            guard let name = key.retiredSealName, let entry = try registry.sealEntry(tenant: tenant.id, host: host, sequence: name.sequence),
                  entry.retired == nil else { continue }
            try registry.markRetired(tenant: tenant.id, host: host, sequence: name.sequence)
        }
        let head = try registry.head(tenant: tenant.id, host: host)
        let after = head.map { StoreKey.seal(SealName(host: host, sequence: $0.sequence, hash: $0.hash)) }
        let repository = Repository(store: store, location: "site")
        var cursor = after
        while true {
            let page = try await store.list(prefix: "\(StoreKey.sealsPrefix)\(host)/", after: cursor, limit: 1000)
            guard let last = page.last else { return }
            for name in page.compactMap(\.sealName) {
                guard let seal = try? await verifiedSeal(name, retired: false, tenant: tenant, repository: repository) else {
                    logger.warning("unverifiable seal in the shared store left out", metadata: ["tenant": "\(tenant.name)", "seal": "\(name)"])
                    continue
                }
                try registry.recordSeal(seal, tenant: tenant.id)
            }
            cursor = last
        }
    }

    /// A stored seal, read and verified: the tenant's, signed by a registered host with the
    /// key registered for it. Every seal the site takes from its store rather than from a host
    /// (another process's, after a crash, for the index) passes here.
    /// - Throws: the store's, format and `SealError`s, `SiteError.unknownSigner`.
    func verifiedSeal(_ name: SealName, retired: Bool, tenant: TenantRecord, repository: Repository) async throws -> Seal {
        let seal = try await repository.seal(named: name, retired: retired)
        try seal.verify(by: tenant.publicKey)
        guard let host = try registry.host(tenant: tenant.id, name: seal.hostName), host.certificate.publicKey == seal.certificate.publicKey else {
            throw SiteError.unknownSigner("host \(seal.hostName) is not registered with the key that signed it")
        }
        return seal
    }

    /// Every object reachable from `root` that the store lacks, and those it holds that the walk
    /// reached (all but the subtrees already known complete). Subtrees found complete are
    /// remembered, so a new snapshot only walks what is new.
    func missingBelow(_ root: ObjectAddress, tenant: TenantID, store: any CollectableStore) async throws
        -> (missing: [ObjectAddress], reached: [ObjectAddress])
    {
        let repository = Repository(store: store, location: "site")
        // Links come from the pack index (a packed store keeps them from the put); headers it
        // has none for are read in batches (neighbouring ones together); on a bucket, several
        // batches in flight.
        let lanes = store.isShared ? 4 : 1
        var missing: [ObjectAddress] = []
        var reached: [ObjectAddress] = []
        var nodes: [ObjectAddress] = []
        var traversal = DAGTraversal()
        try await traversal.walk(from: [root]) { page in
            let complete = try registry.completeNodes(among: page, tenant: tenant)
            let toRead = page.filter { !complete.contains($0) }
            let batches = stride(from: 0, to: toRead.count, by: 1024).map { Array(toRead[$0..<min($0 + 1024, toRead.count)]) }
            let headers = try await concurrentMap(batches, lanes: lanes) { batch -> [ObjectLinks?] in
                try await repository.objectLinks(batch).map { result in
                    switch result {
                    case .success(let header): return header
                    case .failure(.missing): return nil
                    case .failure(let error): throw SiteError.malformedObject("an object the seal reaches is damaged: \(error)")
                    }
                }
            }.flatMap { $0 }
            var links: [ObjectAddress] = []
            for (address, header) in zip(toRead, headers) {
                guard let header else {
                    missing.append(address)
                    continue
                }
                reached.append(address)
                if !header.children.isEmpty { nodes.append(address) }
                links += header.all
            }
            return links
        }
        if missing.isEmpty { try registry.markComplete(nodes, tenant: tenant) }
        return (missing, reached)
    }

    /// The index of seals. On a shared store, first indexes what other site processes accepted
    /// (one listing per host), so every process answers alike.
    package func listSeals(tenant: TenantRecord, host: String?, since: Int64?, until: Int64?, after: (String, UInt64)?, limit: Int, retired: Bool = false,
                           principal: Principal) async throws -> [SealIndexEntry] {
        var host = host
        if principal.role == .writer {
            guard host == nil || host == principal.host else { throw SiteError.forbidden("a writer token reads only its own host's seals") }
            host = principal.host
        }
        if let host { try await catchUp(tenant: tenant, host: host) } else { try await catchUpEveryHost(tenant: tenant) }
        return try registry.seals(tenant: tenant.id, host: host, since: since, until: until, after: after, limit: min(max(limit, 1), 10_000), retired: retired)
    }

    package func getSeal(tenant: TenantRecord, name: SealName, principal: Principal) async throws -> [UInt8] {
        try await sealBytes(.seal(name), name: name, tenant: tenant, principal: principal)
    }

    /// The bytes of a seal under `key` (retained or retired) once the principal may read its
    /// host's seals; `SiteError.notFound` when the site does not hold it.
    func sealBytes(_ key: StoreKey, name: SealName, tenant: TenantRecord, principal: Principal) async throws -> [UInt8] {
        guard principal.mayReadSeals(of: name.host) else { throw SiteError.forbidden("a writer token reads only its own host's seals") }
        do {
            return try await store(tenant.id).get(key)
        } catch StoreError.notFound {
            throw SiteError.notFound("no \(key.retiredSealName == nil ? "seal" : "retired seal") \(name)")
        }
    }
}
