import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem
import Synchronization

/// Object intake and reads at a site: verified uploads and bundles within the tenant's quota,
/// repair of damaged copies, deduplication queries that vouch for what they report present
/// (rule G3), reads, listing and deletion.
extension SiteService {

    /// Stores an object after checking that its bytes hash to `address` and that its header
    /// parses. Idempotent: an object already stored is a success (`.alreadyPresent`).
    package func putObject(tenant: TenantRecord, address: ObjectAddress, bytes: [UInt8], principal: Principal) async throws -> PutOutcome {
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
    func withQuota<T>(_ bytes: Int, tenant: TenantRecord, _ body: (inout [(address: ObjectAddress, bytes: Int)]) async throws -> T)
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
    func check(_ address: ObjectAddress, _ bytes: [UInt8]) throws -> ObjectIdentity? {
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
    func store(_ address: ObjectAddress, _ bytes: [UInt8], identity: ObjectIdentity?, tenant: TenantRecord) async throws
        -> (PutOutcome, isNew: Bool)
    {
        let store = try store(tenant.id)
        var outcome = try await store.put(.object(address), bytes)
        let isNew = outcome == .stored
        if outcome == .alreadyPresent {
            // The host will reuse it: refresh its age as a "present" answer does (rule G3).
            _ = try await store.vouch(.object(address))
        }
        if outcome == .alreadyPresent, try await !Self.isIntact(address, in: store) {
            try await store.replaceDamaged(.object(address), bytes)
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

    /// Vouches for each address (rule G3) and returns those present: one index transaction for
    /// the batch in a packed store.
    static func vouch(_ addresses: [ObjectAddress], in store: any CollectableStore) async throws -> Set<ObjectAddress> {
        let present = try await store.vouch(addresses.map { StoreKey.object($0) })
        return Set(zip(addresses, present).filter(\.1).map(\.0))
    }

    /// Whether the stored copy hashes to its address.
    static func isIntact(_ address: ObjectAddress, in store: any CollectableStore) async throws -> Bool {
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
        let present = try await Self.vouch(addresses, in: store)
        let missing = addresses.filter { !present.contains($0) }
        try flushIdentities()
        let candidates = try registry.addresses(for: identities, tenant: tenant.id)
        let held = try await Self.vouch(Array(Set(candidates.values)), in: store)
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

    /// Whole objects read span by span (`CollectableStore.readSpans`: neighbouring objects of a
    /// pack in one read, pack by pack), handed to `deliver` with their positions in
    /// `addresses`; `deliver` returning false stops. Returns the positions the site does not
    /// hold (those met before a stop).
    package func readObjects<Buffer: Sendable>(tenant: TenantRecord, addresses: [ObjectAddress], principal: Principal,
                                               into make: @escaping @Sendable (Int, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer,
                                               deliver: (ReadSpan<Buffer>) async throws -> Bool) async throws -> [Int] {
        try await store(tenant.id).readSpans(addresses.map { StoreKey.object($0) }, into: make, deliver: deliver)
    }

    /// Runs a read of one object once the principal may read; `SiteError.notFound` when the
    /// site does not hold it.
    func readingObject<T>(tenant: TenantRecord, address: ObjectAddress, principal: Principal,
                                  _ read: (any CollectableStore, StoreKey) async throws -> T) async throws -> T {
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
        if principal.role == .writer, try await !store.vouch(.object(address)) { return nil }
        return try await store.size(.object(address))
    }

    package func listObjects(tenant: TenantRecord, after: ObjectAddress?, limit: Int, principal: Principal) async throws -> [ObjectAddress] {
        let keys = try await store(tenant.id).list(prefix: StoreKey.objectsPrefix, after: after.map { StoreKey.object($0) }, limit: min(max(limit, 1), 10_000))
        return keys.compactMap(\.objectAddress)
    }

    /// Deletes an object. Administrators only; every deletion and every refused attempt is
    /// written to the audit trail.
    package func deleteObject(tenant: TenantRecord, address: ObjectAddress, principal: Principal) async throws {
        let store = try store(tenant.id)
        let window = try registry.retentionSettings(tenant: tenant.id).immutability.effective(at: Date())
        if let (modified, _) = try await store.age(.object(address)), modified + window > Int(Date().timeIntervalSince1970) {
            throw SiteError(.immutable, "object \(address.hex) is inside the immutability window (\(TimeFormat.duration(window)))")
        }
        try await store.delete(.object(address))
        try registry.forgetCompleteness(tenant: tenant.id)
        try registry.audit(actor: principal.tokenID, action: "delete-object", tenant: tenant.id, detail: "object \(address)")
    }
}
