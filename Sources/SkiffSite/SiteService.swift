import Foundation
import Logging
import SkiffCore
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import Synchronization

/// What a site does, independent of HTTP: verified uploads, deduplication queries, seal
/// acceptance, listing, reading and (for administrators) deletion. Every verb checks the
/// caller's principal first.
package final class SiteService: Sendable {
    package let registry: SiteRegistry
    package let stores: any TenantStores
    package let metrics: SiteMetrics
    /// What each tenant stores and has not sealed, against its quota.
    package let quotas: QuotaLedger
    let logger: Logger
    let sealLocks = KeyedLocks<String>()
    private let pendingIdentities = Mutex<[(TenantID, ObjectIdentity, ObjectAddress)]>([])
    /// Quarantined objects by tenant, to release one when a good copy arrives.
    private let quarantinedAddresses = Mutex<[TenantID: Set<ObjectAddress>]>([:])

    /// At most this many addresses or identities per deduplication query.
    package static let maxQueryItems = 10_000

    package init(registry: SiteRegistry, stores: any TenantStores, metrics: SiteMetrics, logger: Logger) {
        self.registry = registry
        self.stores = stores
        self.metrics = metrics
        self.logger = logger
        quotas = QuotaLedger(readQuota: { [registry] in try registry.quota(tenant: $0) })
    }

    /// The store of a tenant's objects and seals.
    package func store(_ tenant: TenantID) throws -> any SiteStore {
        do { return try stores.store(for: tenant) } catch let error as StoreError {
            throw SiteError.internalError("the store of tenant \(tenant.hex) cannot be opened: \(error)")
        }
    }

    /// The tenant, if the principal may act on it. Unknown and foreign tenants are refused
    /// alike, so a token cannot probe which tenants exist. A writer acts only while its host
    /// is registered (a host removed with `skiff-site host remove` keeps no write access).
    package func tenant(_ text: String, for principal: Principal) throws -> TenantRecord {
        guard let id = TenantID(hex: text), principal.covers(id), let record = try registry.tenant(id) else {
            throw SiteError.forbidden("this token has no access to tenant \(text.prefix(64))")
        }
        if principal.role == .writer {
            guard let host = principal.host, try registry.host(tenant: id, name: host) != nil else {
                throw SiteError.forbidden("host \(principal.host ?? "?") of this writer token is not registered at the site")
            }
        }
        return record
    }

    // MARK: Objects

    /// Stores an object after checking that its bytes hash to `address` and that its header
    /// parses. Idempotent: an object already stored is a success (`.alreadyPresent`).
    package func putObject(tenant: TenantRecord, address: ObjectAddress, bytes: [UInt8], principal: Principal) async throws -> PutOutcome {
        guard principal.mayWriteObjects else { throw SiteError.forbidden("a \(principal.role.rawValue) token cannot upload") }
        let identity = try check(address, bytes)
        return try await withQuota(bytes.count, tenant: tenant) { added in
            let (outcome, isNew) = try await store(address, bytes, identity: identity, tenant: tenant)
            if isNew { added.append((address, bytes.count)) }
            return outcome
        }
    }

    /// Stores the objects of one bundle. Every object is checked first (address and header):
    /// when any fails, nothing of the bundle is stored and the refusal lists every failing
    /// address. Idempotent like `putObject`, object by object.
    package func putObjects(tenant: TenantRecord, objects: [(address: ObjectAddress, bytes: [UInt8])], principal: Principal) async throws
        -> BundleAcceptance
    {
        guard principal.mayWriteObjects else { throw SiteError.forbidden("a \(principal.role.rawValue) token cannot upload") }
        var identities: [ObjectIdentity?] = []
        identities.reserveCapacity(objects.count)
        var mismatched: [ObjectAddress] = []
        for object in objects {
            do { identities.append(try check(object.address, object.bytes)) } catch let error as SiteError where error.code == .addressMismatch {
                mismatched.append(object.address)
            }
        }
        guard mismatched.isEmpty else {
            throw SiteError(.addressMismatch, "\(mismatched.count) objects of the bundle do not hash to their addresses; nothing was stored",
                            addresses: mismatched.map(\.hex))
        }
        return try await withQuota(objects.reduce(0) { $0 + $1.bytes.count }, tenant: tenant) { added in
            var acceptance = BundleAcceptance(stored: 0, present: 0)
            for (object, identity) in zip(objects, identities) {
                let (outcome, isNew) = try await store(object.address, object.bytes, identity: identity, tenant: tenant)
                if isNew { added.append((object.address, object.bytes.count)) }
                if outcome == .stored { acceptance.stored += 1 } else { acceptance.present += 1 }
            }
            return acceptance
        }
    }

    /// Runs an upload of `bytes` within the tenant's quota: room is reserved first (all of a
    /// bundle at once), and what `body` adds to the list is counted as stored, also when it
    /// fails half-way.
    /// - Throws: `SiteError.quotaExceeded` before anything is stored when it would not fit.
    private func withQuota<T>(_ bytes: Int, tenant: TenantRecord, _ body: (inout [(address: ObjectAddress, bytes: Int)]) async throws -> T)
        async throws -> T
    {
        let reservation = try quotas.reserve(bytes, tenant: tenant.id, name: tenant.name)
        var added: [(address: ObjectAddress, bytes: Int)] = []
        do {
            let result = try await body(&added)
            quotas.settle(reservation, stored: added, tenant: tenant.id)
            return result
        } catch {
            quotas.settle(reservation, stored: added, tenant: tenant.id)
            throw error
        }
    }

    /// Checks that `bytes` hash to `address` and that the header parses; returns the keyed
    /// identity the header carries, if any.
    private func check(_ address: ObjectAddress, _ bytes: [UInt8]) throws -> ObjectIdentity? {
        guard bytes.count <= ObjectHeader.maxObjectSize else {
            throw SiteError.tooLarge("objects are at most \(ObjectHeader.maxObjectSize) bytes")
        }
        let actual = ObjectAddress(SHA256Hasher.digest(bytes))
        guard actual == address else {
            throw SiteError.addressMismatch(address, actual)
        }
        do { return try ObjectHeader.parse(bytes).identity } catch let error as FormatError {
            throw SiteError.malformedObject("\(address.hex): \(error)")
        }
    }

    /// Stores checked bytes. When the address is already here but its copy no longer hashes
    /// to it (disk damage; healing re-sends such objects), the verified upload replaces it.
    /// - Returns: `.stored` for a new or repaired copy, and whether the bytes are new to the
    ///   store (not a repair).
    private func store(_ address: ObjectAddress, _ bytes: [UInt8], identity: ObjectIdentity?, tenant: TenantRecord) async throws
        -> (PutOutcome, isNew: Bool)
    {
        let store = try store(tenant.id)
        var outcome = try await translated { try await store.put(.object(address), bytes) }
        let isNew = outcome == .stored
        if outcome == .alreadyPresent {
            // The host will reuse it: refresh its age as a "present" answer does (rule G3).
            _ = try await translated { try await store.vouch(.object(address)) }
        }
        if outcome == .alreadyPresent, try await translated({ try await !Self.isIntact(address, in: store) }) {
            try await translated { try await store.replaceDamaged(.object(address), bytes) }
            metrics.objectRepaired(tenant: tenant.name)
            logger.warning("replaced a damaged copy with a verified upload", metadata: ["tenant": "\(tenant.name)", "object": "\(address.hex)"])
            outcome = .stored
        }
        if outcome == .stored {
            if quarantinedAddresses.withLock({ $0[tenant.id]?.remove(address) != nil }) {
                try registry.releaseFromQuarantine(address, tenant: tenant.id)
                try registry.audit(actor: "site", action: "healed", tenant: tenant.id, detail: "\(address.hex): a verified copy replaced the quarantined one")
            }
            metrics.objectStored(tenant: tenant.name, bytes: bytes.count)
            if let identity { pendingIdentities.withLock { $0.append((tenant.id, identity, address)) } }
        }
        return (outcome, isNew)
    }

    /// Vouches for each address (rule G3) and returns those present, several at a time: on a
    /// bucket every vouch is two requests.
    static func vouch(_ addresses: [ObjectAddress], in store: any SiteStore) async throws -> Set<ObjectAddress> {
        let present = try await concurrentMap(addresses, lanes: store.isShared ? 16 : 1) { try await store.vouch(.object($0)) }
        return Set(zip(addresses, present).filter(\.1).map(\.0))
    }

    /// Whether the stored copy hashes to its address.
    static func isIntact(_ address: ObjectAddress, in store: any SiteStore) async throws -> Bool {
        do { return SHA256Hasher.digest(try await store.get(.object(address))) == address.digest } catch StoreError.notFound {
            return false
        }
    }

    /// Which of `addresses` the site lacks, and which of `identities` it holds (with where).
    package func missing(tenant: TenantRecord, addresses: [ObjectAddress], identities: [ObjectIdentity], principal: Principal) async throws
        -> (missing: [ObjectAddress], known: [ObjectIdentity: ObjectAddress])
    {
        guard addresses.count + identities.count <= Self.maxQueryItems else {
            throw SiteError.tooLarge("at most \(Self.maxQueryItems) addresses and identities per query")
        }
        let store = try store(tenant.id)
        // Answering "present" vouches for the object: touching it keeps garbage collection off
        // it for the grace period (rule G3), long enough for the seal that will reach it.
        let present = try await translated { try await Self.vouch(addresses, in: store) }
        let missing = addresses.filter { !present.contains($0) }
        try flushIdentities()
        let candidates = try registry.addresses(for: identities, tenant: tenant.id)
        let held = try await translated { try await Self.vouch(Array(Set(candidates.values)), in: store) }
        return (missing, candidates.filter { held.contains($0.value) })
    }

    /// A whole object.
    package func getObject(tenant: TenantRecord, address: ObjectAddress, principal: Principal) async throws -> [UInt8] {
        try await readingObject(tenant: tenant, address: address, principal: principal) { store, key in
            try await store.get(key)
        }
    }

    /// The bytes of `range` of an object (a `Range` request), clamped to its size, with the
    /// range actually served and the object's size.
    /// - Throws: `SiteError.rangeNotSatisfiable` when the range starts at or after the end.
    package func getObject(tenant: TenantRecord, address: ObjectAddress, range: Range<Int>, principal: Principal) async throws
        -> (bytes: [UInt8], range: Range<Int>, size: Int)
    {
        try await readingObject(tenant: tenant, address: address, principal: principal) { store, key in
            guard let size = try await store.size(key) else { throw StoreError.notFound(key) }
            guard range.lowerBound < size else { throw SiteError.rangeNotSatisfiable(size: size) }
            let served = range.clamped(to: 0..<size)
            return (try await store.get(key, byteRange: served), served, size)
        }
    }

    /// A whole object read into the caller's buffer (see `SiteStore.read(_:into:)`).
    package func readObject<Buffer: Sendable>(tenant: TenantRecord, address: ObjectAddress, principal: Principal,
                                              into make: @escaping @Sendable (Int, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        try await readingObject(tenant: tenant, address: address, principal: principal) { store, key in
            try await store.read(key, into: make)
        }
    }

    /// Runs a read of one object once the principal may read; `SiteError.notFound` when the
    /// site does not hold it.
    private func readingObject<T>(tenant: TenantRecord, address: ObjectAddress, principal: Principal,
                                  _ read: (any SiteStore, StoreKey) async throws -> T) async throws -> T {
        guard principal.mayReadObjects else { throw SiteError.forbidden("a writer token cannot read objects") }
        do {
            return try await read(store(tenant.id), .object(address))
        } catch StoreError.notFound {
            throw SiteError.notFound("no object \(address)")
        }
    }

    /// Size of an object, or nil. Writers may ask (deduplication), like the missing query.
    package func objectSize(tenant: TenantRecord, address: ObjectAddress, principal: Principal) async throws -> Int? {
        let store = try store(tenant.id)
        // A writer asking may reuse it: vouch for it like a "missing" answer (rule G3).
        if principal.role == .writer, try await !translated({ try await store.vouch(.object(address)) }) { return nil }
        return try await store.size(.object(address))
    }

    package func listObjects(tenant: TenantRecord, after: ObjectAddress?, limit: Int, principal: Principal) async throws -> [ObjectAddress] {
        guard principal.mayReadObjects else { throw SiteError.forbidden("a writer token cannot list objects") }
        let keys = try await store(tenant.id).list(prefix: StoreKey.objectsPrefix, after: after.map { StoreKey.object($0) }, limit: min(max(limit, 1), 10_000))
        return keys.compactMap(\.objectAddress)
    }

    /// Deletes an object. Administrators only; every deletion and every refused attempt is
    /// written to the audit trail.
    package func deleteObject(tenant: TenantRecord, address: ObjectAddress, principal: Principal) async throws {
        guard principal.mayDelete else { throw SiteError.forbidden("only administrators may delete") }
        let store = try store(tenant.id)
        let window = try registry.retentionSettings(tenant: tenant.id).immutability.effective(at: Date())
        if let (modified, _) = try await translated({ try await store.age(.object(address)) }), modified + window > Int(Date().timeIntervalSince1970) {
            throw SiteError(.immutable, "object \(address.hex) is inside the immutability window (\(RetentionPlan.duration(window)))")
        }
        try await translated { try await store.delete(.object(address)) }
        try registry.forgetCompleteness(tenant: tenant.id)
        try registry.audit(actor: principal.tokenID, action: "delete-object", tenant: tenant.id, detail: "object \(address)")
    }

    // MARK: Scrubbing

    /// Moves a damaged object aside, records it, and forgets which subtrees were complete
    /// (so the next seal reaching it is refused until it is healed). The copy is hashed once
    /// more first, so an object repaired since the scrubber read it stays.
    package func quarantine(_ address: ObjectAddress, tenant: TenantRecord, reason: String) async throws {
        let store = try store(tenant.id)
        guard try await !Self.isIntact(address, in: store) else { return }
        let size = try await store.size(.object(address)) ?? 0
        guard try await store.quarantine(.object(address)) else { return }
        quotas.removed(objects: 1, bytes: size, tenant: tenant.id)
        quarantinedAddresses.withLock { _ = $0[tenant.id, default: []].insert(address) }
        try registry.quarantine(address, tenant: tenant.id, reason: reason)
        try registry.forgetCompleteness(tenant: tenant.id)
        try registry.audit(actor: "scrubber", action: "quarantine", tenant: tenant.id, detail: "\(address.hex): \(reason)")
        metrics.quarantined(tenant: tenant.name)
        logger.error("quarantined a damaged object", metadata: ["tenant": "\(tenant.name)", "object": "\(address.hex)", "reason": "\(reason)"])
    }

    /// What auditors see of the scrubber for a tenant.
    package func scrubStatus(tenant: TenantRecord, principal: Principal, bytesPerSecond: Int) throws -> ScrubStatus {
        guard principal.mayReadObjects else { throw SiteError.forbidden("a writer token cannot read the scrub status") }
        let pass = try registry.scrubPass(tenant: tenant.id).map {
            ScrubStatus.Pass(started: $0.started, completed: $0.completed, objects: $0.objects, bytes: $0.bytes, quarantined: $0.quarantined)
        }
        return ScrubStatus(bytesPerSecond: bytesPerSecond, pass: pass, quarantined: try registry.quarantined(tenant: tenant.id, limit: 1000))
    }

    /// Loads the quarantined addresses (at start), so that a healed object leaves the list.
    func loadQuarantine() throws {
        var all: [TenantID: Set<ObjectAddress>] = [:]
        for tenant in try registry.tenants() {
            all[tenant.id] = Set(try registry.quarantined(tenant: tenant.id, limit: Int.max).compactMap { ObjectAddress(hex: $0.address) })
        }
        quarantinedAddresses.withLock { $0 = all }
    }

    // MARK: Housekeeping

    /// Writes buffered identity index rows (also done periodically by the server).
    package func flushIdentities() throws {
        let pending = pendingIdentities.withLock { rows -> [(TenantID, ObjectIdentity, ObjectAddress)] in
            defer { rows = [] }
            return rows
        }
        try registry.recordIdentities(pending)
    }

    /// Brings the seal index and heads in line with the seals in the stores (after a crash
    /// between writing a seal and indexing it, or a registry restored from an old copy),
    /// mirrors the registry's tenant and host records into the stores, and removes stale
    /// temporary files. What the index cannot repair (seal files missing or damaged) is logged:
    /// `skiff-site check` lists it, a heal or the host brings it back.
    package func reconcile() async throws {
        try loadQuarantine()
        for tenant in try registry.tenants() {
            let store = try store(tenant.id)
            try await store.removeStaleLeftovers()
            try await removeRetirementLeftovers(Repository(store: store, location: "site"))
            for finding in try await checkIndex(tenant: tenant, deep: false, repair: true) {
                if finding.repaired {
                    logger.notice("repaired the seal index", metadata: ["finding": "\(finding)"])
                } else {
                    logger.error("the store and the index disagree", metadata: ["finding": "\(finding)"])
                }
            }
            try await mirrorRegistry(tenant: tenant)
        }
    }

    /// A seal left in both folders by an interrupted retirement loses its `seals/` copy (the
    /// index follows in `checkIndex`).
    private func removeRetirementLeftovers(_ repository: Repository) async throws {
        let retained = Set(try await repository.sealNames())
        for name in try await repository.retiredSealNames() where retained.contains(name) {
            try await repository.store.delete(.seal(name))
        }
    }

    /// Maps store failures to site errors.
    func translated<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as StoreError {
            switch error {
            case .noSpace(let what): throw SiteError.insufficientStorage(what)
            case .notFound(let key): throw SiteError.notFound("\(key)")
            default: throw SiteError.internalError("\(error)")
            }
        }
    }
}
