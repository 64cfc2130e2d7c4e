import SkiffCore
import SkiffStorage

/// Bringing back a seal the site accepted once and then lost (docs/PROTOCOL.md, rule S10):
/// its file deleted or damaged with the index intact, or its index row lost with or without
/// the file. A heal (`skiff heal`) or the host (`skiff sync`) re-sends it; the site checks it
/// again as at first acceptance and stores it again, so no lost seal is a dead end.
extension SiteService {
    /// A seal at or below its host's head (called under the host's seal lock, after the
    /// signature and the signer were checked):
    /// - the index holds another seal at that sequence: `chain-conflict` (a fork, refused);
    /// - its file is held and intact (in `seals/`, or `retired/` once retention retired it):
    ///   nothing to do, answered as already accepted;
    /// - otherwise (file missing or damaged, or not indexed): when the index does not know it,
    ///   its neighbours must: the seal before it must be the one it names, and the seal after
    ///   it (when there is one) must name it; then `admit` checks and stores it as at first
    ///   acceptance, the audit trail records the recovery, and the answer is "stored".
    /// - Returns: the seal's name and whether it was stored now.
    func recover(_ seal: Seal, bytes: [UInt8], tenant: TenantRecord, store: any CollectableStore, principal: Principal) async throws -> (SealName, Bool) {
        let name = seal.name
        let entry = try registry.sealEntry(tenant: tenant.id, host: seal.hostName, sequence: seal.sequence)
        if let entry, entry.hash != seal.hash.hex {
            throw SiteError.chainConflict("seal #\(seal.sequence) of \(seal.hostName) here is another seal (\(entry.hash.prefix(12))); a chain does not fork")
        }
        let key: StoreKey = entry?.retired != nil ? .retiredSeal(name) : .seal(name)
        let held: [UInt8]?
        do { held = try await store.get(key) } catch StoreError.notFound { held = nil } catch let error as StoreError {
            throw SiteError.internalError("\(error)")
        }
        if let held, SHA256Hasher.digest(held) == seal.hash { return (name, false) }
        if entry == nil { try await checkLinks(seal, tenant: tenant.id, store: store) }
        try await admit(seal, bytes: bytes, at: key, replacing: held != nil, tenant: tenant, store: store)
        if entry?.retired != nil { try registry.markRetired(tenant: tenant.id, host: seal.hostName, sequence: seal.sequence) }
        let what = held == nil ? (entry == nil ? "neither indexed nor stored" : "its file was missing") : "its file was damaged"
        try registry.audit(actor: principal.tokenID, action: "recover-seal", tenant: tenant.id,
                           detail: "seal #\(seal.sequence) of \(seal.hostName) (\(name.short)): \(what); verified as at first acceptance and stored again")
        metrics.sealRecovered(tenant: tenant.name)
        logger.warning("recovered a lost seal", metadata: ["tenant": "\(tenant.name)", "seal": "\(name.short)", "was": "\(what)"])
        return (name, true)
    }

    /// For a seal the index does not know: the seal before it (indexed or stored) must be the
    /// one it names, and the seal after it, if the site has one, must name it.
    /// - Throws: `chain-conflict` when a neighbour disagrees or the one before is unknown.
    private func checkLinks(_ seal: Seal, tenant: TenantID, store: any CollectableStore) async throws {
        if seal.sequence > 1 {
            let before = try await neighbourHash(host: seal.hostName, sequence: seal.sequence - 1, tenant: tenant, store: store)
            guard before == seal.previous else {
                throw SiteError.chainConflict(before == nil
                    ? "seal #\(seal.sequence) of \(seal.hostName) cannot be linked: the site holds no seal #\(seal.sequence - 1) to check it against; send that one first"
                    : "seal #\(seal.sequence) of \(seal.hostName) names a previous seal the site does not hold at #\(seal.sequence - 1)")
            }
        }
        let repository = Repository(store: store, location: "site")
        for name in try await sealNames(host: seal.hostName, sequence: seal.sequence + 1, store: store) {
            guard let after = try? await repository.seal(named: name.name, retired: name.retired), after.previous != seal.hash else { continue }
            throw SiteError.chainConflict("seal #\(seal.sequence + 1) of \(seal.hostName) here does not follow seal \(seal.name.short)")
        }
    }

    /// The hash of the host's seal at `sequence`, from the index, else from the store.
    private func neighbourHash(host: String, sequence: UInt64, tenant: TenantID, store: any CollectableStore) async throws -> Digest256? {
        if let entry = try registry.sealEntry(tenant: tenant, host: host, sequence: sequence) { return Digest256(hex: entry.hash) }
        return try await sealNames(host: host, sequence: sequence, store: store).first?.name.hash
    }

    /// The stored seals (retained and retired) of `host` at `sequence`.
    private func sealNames(host: String, sequence: UInt64, store: any CollectableStore) async throws -> [(name: SealName, retired: Bool)] {
        var names: [(name: SealName, retired: Bool)] = []
        for (folder, retired) in [(StoreKey.sealsPrefix, false), (StoreKey.retiredPrefix, true)] {
            let keys = try await store.list(prefix: "\(folder)\(host)/\(SealName.filePrefix(sequence: sequence))", after: nil, limit: 10)
            names += keys.compactMap { key in (retired ? key.retiredSealName : key.sealName).map { ($0, retired) } }
        }
        return names
    }
}
