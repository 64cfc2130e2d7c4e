import SkiffCore
import SkiffSite
import SkiffSiteProtocol
import SkiffSiteTestSupport
import SkiffStorage
import SkiffTestSupport
import Testing

/// The site's verbs called directly on an in-process site (memory stores, no HTTP): verified
/// uploads, quotas, seal acceptance and its refusals, and who may do what. Milliseconds each;
/// `RefusalTests` proves the same refusals through HTTPS against a real `skiff-site`.
@Suite struct SiteServiceTests {
    let site: InProcessSite
    let maker: SnapshotMaker
    let tenant: TenantRecord
    let writer: Principal

    init() throws {
        site = try InProcessSite()
        maker = try SnapshotMaker()
        tenant = try site.enroll(maker)
        writer = try site.principal(.writer, tenant: tenant, host: maker.host)
    }

    var service: SiteService { site.service }
    var store: MemoryStore { site.store(tenant) }

    /// The site's refusal of `body`, or nil when it succeeded (or failed otherwise).
    static func refusal(_ body: () async throws -> Void) async -> SiteError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? SiteError
        }
    }

    func accept(_ seal: Seal) async throws -> Bool {
        try await service.putSeal(tenant: tenant, bytes: seal.encoded, principal: writer).1
    }

    // MARK: Uploads

    @Test func uploadsAreStoredOnceAndRepeatedUploadsArePresent() async throws {
        let snapshot = try maker.snapshot()
        let chunk = snapshot.objects[1]
        #expect(try await service.putObject(tenant: tenant, address: chunk.address, bytes: chunk.bytes, principal: writer) == .stored)
        #expect(try await store.get(.object(chunk.address)) == chunk.bytes)
        #expect(try await service.putObject(tenant: tenant, address: chunk.address, bytes: chunk.bytes, principal: writer) == .alreadyPresent)
        let all: [(address: ObjectAddress, bytes: [UInt8])] = snapshot.objects.map { ($0.address, $0.bytes) }
        #expect(try await service.putObjects(tenant: tenant, objects: all, principal: writer) == BundleAcceptance(stored: all.count - 1, present: 1))
        #expect(try await service.putObjects(tenant: tenant, objects: all, principal: writer) == BundleAcceptance(stored: 0, present: all.count))
        #expect(store.storedBytes == snapshot.objects.reduce(0) { $0 + $1.bytes.count }, "every object stored exactly once")
    }

    @Test func aVerifiedUploadReplacesADamagedCopy() async throws {
        let chunk = try maker.snapshot().objects[1]
        _ = try await service.putObject(tenant: tenant, address: chunk.address, bytes: chunk.bytes, principal: writer)
        try store.damage(.object(chunk.address)) { $0[$0.count / 2] ^= 1 }
        #expect(try await service.putObject(tenant: tenant, address: chunk.address, bytes: chunk.bytes, principal: writer) == .stored)
        #expect(try await store.get(.object(chunk.address)) == chunk.bytes)
    }

    @Test func bytesThatDoNotHashToTheirAddressAreRefusedAndNothingOfTheBundleIsStored() async throws {
        let objects = try maker.snapshot().objects
        let (good, other) = (objects[1], objects[2])
        let single = await Self.refusal { _ = try await service.putObject(tenant: tenant, address: good.address, bytes: other.bytes, principal: writer) }
        #expect(single?.code == .addressMismatch)
        #expect(try await store.size(.object(good.address)) == nil)
        let bundle = await Self.refusal {
            _ = try await service.putObjects(tenant: tenant, objects: [(good.address, good.bytes), (other.address, good.bytes)], principal: writer)
        }
        #expect(bundle?.code == .addressMismatch)
        #expect(bundle?.addresses == [other.address.hex], "the refusal names exactly the object that does not match")
        #expect(store.storedBytes == 0, "a bundle with one bad object stores nothing")
    }

    @Test func uploadsBeyondTheStoredQuotaAreRefusedBeforeAnythingIsStored() async throws {
        let objects = try maker.snapshot(chunks: 3, chunkSize: 1000).objects
        let chunks = Array(objects[1...3])
        try site.registry.setQuota(TenantQuota(storedBytes: chunks[0].bytes.count + chunks[1].bytes.count), tenant: tenant.id)
        for chunk in chunks.prefix(2) {
            #expect(try await service.putObject(tenant: tenant, address: chunk.address, bytes: chunk.bytes, principal: writer) == .stored)
        }
        let refused = await Self.refusal { _ = try await service.putObject(tenant: tenant, address: chunks[2].address, bytes: chunks[2].bytes, principal: writer) }
        #expect(refused?.code == .quotaExceeded)
        #expect(try await store.size(.object(chunks[2].address)) == nil)
    }

    // MARK: Seals

    @Test func aSealIsAcceptedOnceItsObjectsAreStoredAndResendingItIsIdempotent() async throws {
        let (snapshot, seal) = try maker.chain(1)[0]
        try await site.upload(snapshot, tenant: tenant, as: writer)
        let flushesBefore = store.flushes
        #expect(try await accept(seal))
        #expect(store.flushes > flushesBefore, "objects and the seal are made durable")
        #expect(try await store.get(.seal(seal.name)) == seal.encoded)
        #expect(try site.head(of: maker.host, tenant: tenant) == InProcessSite.label(seal))
        #expect(try await accept(seal) == false, "a seal accepted before is a success, not stored again")
        let listed = try await service.listSeals(tenant: tenant, host: nil, since: nil, until: nil, after: nil, limit: 10, principal: writer)
        #expect(listed.map(\.hash) == [seal.hash.hex])
    }

    @Test func aSealThatSkipsOrForksTheChainIsAChainConflict() async throws {
        let chain = try maker.chain(3)
        for (snapshot, _) in chain { try await site.upload(snapshot, tenant: tenant, as: writer) }
        #expect(try await accept(chain[0].seal))
        let skipping = await Self.refusal { _ = try await accept(chain[2].seal) }
        #expect(skipping?.code == .chainConflict, "#3 does not follow #1")
        let other = try maker.snapshot()
        try await site.upload(other, tenant: tenant, as: writer)
        let fork = try maker.seal(other, after: chain[0].seal)
        #expect(try await accept(fork))
        let forking = await Self.refusal { _ = try await accept(chain[1].seal) }
        #expect(forking?.code == .chainConflict, "another #2 is already accepted")
        #expect(try site.head(of: maker.host, tenant: tenant) == InProcessSite.label(fork))
        #expect(try await store.size(.seal(chain[1].seal.name)) == nil)
    }

    @Test func aSealReachingMissingObjectsIsRefusedNamingThemUntilTheyArrive() async throws {
        let (snapshot, seal) = try maker.chain(1, chunks: 4)[0]
        let lacking = [snapshot.chunks[1], snapshot.chunks[3]]
        let sent = snapshot.objects.filter { !lacking.contains($0.address) }
        _ = try await service.putObjects(tenant: tenant, objects: sent.map { ($0.address, $0.bytes) }, principal: writer)
        let refused = await Self.refusal { _ = try await accept(seal) }
        #expect(refused?.code == .missingObjects)
        #expect(Set(refused?.addresses ?? []) == Set(lacking.map(\.hex)))
        #expect(try site.head(of: maker.host, tenant: tenant) == nil)
        #expect(try await store.size(.seal(seal.name)) == nil)
        try await site.upload(snapshot, tenant: tenant, as: writer)
        #expect(try await accept(seal))
    }

    // MARK: Who may do what

    /// The role matrix of docs/PROTOCOL.md, operation by operation: what `SiteAuthorizationMiddleware`
    /// checks before any handler runs.
    @Test func theRoleMatrixAllowsEachRoleExactlyItsOperations() throws {
        var allowed: [SiteRole: Set<SiteOperation>] = [
            .writer: [.health, .metrics, .missing, .putObject, .putObjects, .headObject, .putSeal, .listSeals, .getSeal, .getRetiredSeal],
            .reader: [.health, .metrics, .missing, .fetch, .getObject, .headObject, .listObjects, .listSeals, .getSeal, .scrubStatus,
                      .getRetiredSeal, .retentionSettings, .retentionPlan],
            .admin: Set(SiteOperation.allCases),
        ]
        allowed[.auditor] = allowed[.reader]
        let principals: [(SiteRole, Principal)] = [
            (.writer, writer), (.reader, try site.principal(.reader, tenant: tenant)), (.auditor, try site.principal(.auditor, tenant: tenant)),
            (.admin, try site.principal(.admin, tenant: nil)),
        ]
        for (role, principal) in principals {
            for operation in SiteOperation.allCases {
                var refusal: SiteError?
                do { try principal.authorize(operation) } catch let error as SiteError { refusal = error }
                #expect((refusal == nil) == allowed[role]!.contains(operation), "\(role) \(operation): \(refusal.map { "\($0)" } ?? "allowed")")
                if let refusal { #expect(refusal.code == .forbidden) }
            }
        }
    }

    @Test func aWriterSealsAndReadsOnlyItsOwnHost() async throws {
        let other = try SnapshotMaker(host: "web2", tenant: maker.tenant)
        try site.registerHost(other.hostKey, tenant: tenant)
        let (snapshot, seal) = try other.chain(1)[0]
        try await site.upload(snapshot, tenant: tenant, as: writer)
        #expect(await Self.refusal { _ = try await accept(seal) }?.code == .wrongHost)
        #expect(await Self.refusal {
            _ = try await service.listSeals(tenant: tenant, host: "web2", since: nil, until: nil, after: nil, limit: 10, principal: writer)
        }?.code == .forbidden)
        let otherWriter = try site.principal(.writer, tenant: tenant, host: "web2")
        #expect(try await service.putSeal(tenant: tenant, bytes: seal.encoded, principal: otherWriter).1)
    }

    @Test func aSealOfAnUnregisteredHostIsAnUnknownSigner() async throws {
        let stranger = try SnapshotMaker(host: "web9", tenant: maker.tenant)
        let (snapshot, seal) = try stranger.chain(1)[0]
        try await site.upload(snapshot, tenant: tenant, as: writer)
        let admin = try site.principal(.admin, tenant: nil)
        #expect(await Self.refusal { _ = try await service.putSeal(tenant: tenant, bytes: seal.encoded, principal: admin) }?.code == .unknownSigner)
    }

    @Test func tokensReachOnlyTheirTenantAndWritersOnlyWhileTheirHostIsRegistered() async throws {
        let otherMaker = try SnapshotMaker()
        let otherTenant = try site.enroll(otherMaker, name: "globex")
        #expect(try service.tenant(tenant.id.hex, for: writer).id == tenant.id)
        #expect(await Self.refusal { _ = try service.tenant(otherTenant.id.hex, for: writer) }?.code == .forbidden)
        #expect(await Self.refusal { _ = try service.tenant(TenantID.generate().hex, for: writer) }?.code == .forbidden,
                "an unknown tenant is refused like a foreign one")
        try site.registry.removeHost(tenant: tenant.id, name: maker.host)
        #expect(await Self.refusal { _ = try service.tenant(tenant.id.hex, for: writer) }?.code == .forbidden)
    }
}
