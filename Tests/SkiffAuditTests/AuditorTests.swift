import Logging
import SkiffAudit
import SkiffCore
import SkiffStorage
import SkiffTestSupport
import Testing

/// Keyless audits of repositories in memory: seals compared across sources, rollback against
/// the audit state, forks. Milliseconds each; `AuditTests` audits real sites through the CLI.
@Suite struct AuditorTests {
    let folder: TemporaryDirectory
    let maker: SnapshotMaker
    let auditor: Auditor
    let a = MemoryStore()
    let b = MemoryStore()

    init() throws {
        folder = try TemporaryDirectory("skiff-auditor")
        maker = try SnapshotMaker()
        auditor = Auditor(tenant: maker.tenant.publicKey, state: try AuditState(path: folder.appending("audit.sqlite")), options: WalkOptions(),
                          logger: Logger(label: "skiff-test") { _ in SwiftLogNoOpLogHandler() })
    }

    static func source(_ name: String, _ store: MemoryStore) -> AuditSource {
        AuditSource(name: name, stateKey: name, repository: Repository(store: store, location: name), site: nil)
    }

    func audit(_ stores: [(String, MemoryStore)]) async -> AuditReport {
        await auditor.audit(stores.map { Self.source($0.0, $0.1) })
    }

    static func put(_ snapshot: SnapshotMaker.Snapshot, _ seal: Seal, in store: MemoryStore) async throws {
        let repository = Repository(store: store, location: "memory")
        for object in snapshot.objects { _ = try await repository.putObject(object) }
        _ = try await repository.putSeal(seal)
    }

    @Test func sourcesHoldingTheSameSealsAgree() async throws {
        for (snapshot, seal) in try maker.chain(2) {
            for store in [a, b] { try await Self.put(snapshot, seal, in: store) }
        }
        let report = await audit([("a", a), ("b", b)])
        #expect(report.isClean, "\(report.findings)")
        #expect(report.seals.map(\.sequence) == [1, 2] && report.seals.allSatisfy(\.identical))
        #expect(report.sources.allSatisfy { $0.completeSeals == 2 })
    }

    @Test func aSealOneSourceLacksIsAMissingSealThere() async throws {
        let chain = try maker.chain(2)
        for (snapshot, seal) in chain { try await Self.put(snapshot, seal, in: a) }
        try await Self.put(chain[0].snapshot, chain[0].seal, in: b)
        let report = await audit([("a", a), ("b", b)])
        #expect(report.findings.map(\.kind) == [.missingSeal], "\(report.findings)")
        #expect(report.findings.first?.source == "b")
        #expect(report.findings.first?.seals == [chain[1].seal.name.short])
        #expect(report.seals.first { $0.sequence == 2 }?.missingAt == ["b"])
    }

    @Test func aSourceWhoseNewestSealWentBackIsARollbackUntilItIsBack() async throws {
        let chain = try maker.chain(2)
        for (snapshot, seal) in chain { try await Self.put(snapshot, seal, in: a) }
        #expect(await audit([("a", a)]).isClean)
        try await a.delete(.seal(chain[1].seal.name))
        let rolledBack = await audit([("a", a)])
        #expect(rolledBack.findings.map(\.kind) == [.rollback], "\(rolledBack.findings)")
        #expect(rolledBack.findings.first?.source == "a")
        #expect(await audit([("a", a)]).findings.map(\.kind) == [.rollback], "the audit state keeps the newest seal it saw")
        _ = try await a.put(.seal(chain[1].seal.name), chain[1].seal.encoded)
        #expect(await audit([("a", a)]).isClean)
    }

    @Test func twoSealsWithOneSequenceAreAForkAndTwoSourcesWithDifferentOnesDisagree() async throws {
        let chain = try maker.chain(2)
        let other = try maker.snapshot()
        let fork = try maker.seal(other, after: chain[0].seal)
        for (snapshot, seal) in chain { try await Self.put(snapshot, seal, in: a) }
        try await Self.put(other, fork, in: a)
        let forked = await audit([("a", a)])
        #expect(forked.findings.contains { $0.kind == .fork && $0.source == "a" }, "\(forked.findings)")

        try await Self.put(chain[0].snapshot, chain[0].seal, in: b)
        try await Self.put(other, fork, in: b)
        let c = MemoryStore()
        for (snapshot, seal) in chain { try await Self.put(snapshot, seal, in: c) }
        let disagreeing = await audit([("b", b), ("c", c)])
        #expect(disagreeing.findings.map(\.kind) == [.rootMismatch], "\(disagreeing.findings)")
        #expect(disagreeing.seals.first { $0.sequence == 2 }?.identical == false)
    }
}
