import SkiffCore
@testable import SkiffAudit
import SkiffStorage
import SkiffTestSupport
import Testing

/// The keyless walk below a seal over a memory store: what it finds missing or damaged, and
/// where in the DAG (root → tree → chunk). Milliseconds each; `AuditTests` walks real sites.
@Suite struct DAGWalkTests {
    let folder: TemporaryDirectory
    let state: AuditState
    let store = MemoryStore()
    let snapshot: SnapshotMaker.Snapshot
    let seal: Seal

    init() throws {
        folder = try TemporaryDirectory("skiff-walk")
        state = try AuditState(path: folder.appending("audit.sqlite"))
        let first = try SnapshotMaker().chain(1, chunks: 3)[0]
        snapshot = first.snapshot
        seal = first.seal
    }

    var source: AuditSource { AuditSource(name: "memory", stateKey: "memory", repository: Repository(store: store, location: "memory"), site: nil) }

    func storeSnapshot() async throws {
        for object in snapshot.objects { _ = try await source.repository.putObject(object) }
    }

    func walk(_ options: WalkOptions = WalkOptions()) async throws -> WalkOutcome {
        try await DAGWalk(source: source, state: state, options: options, fallback: nil).run([seal])
    }

    @Test func anIntactSnapshotIsReadOnceAndComplete() async throws {
        try await storeSnapshot()
        let outcome = try await walk()
        #expect(outcome.findings.isEmpty)
        #expect(outcome.objectsRead == snapshot.objects.count, "every object once, the shared key object too")
        #expect(outcome.completeSeals == [seal.hash])
    }

    @Test func aMissingAndACorruptChunkAreFoundUnderTheirTree() async throws {
        try await storeSnapshot()
        let (missing, corrupt) = (snapshot.chunks[0], snapshot.chunks[2])
        try await store.delete(.object(missing))
        try store.damage(.object(corrupt)) { $0[$0.count - 1] ^= 0x01 }
        let outcome = try await walk()
        #expect(outcome.findings.count == 2, "\(outcome.findings)")
        let path = [snapshot.root.hex, snapshot.tree.hex]
        let lost = try #require(outcome.findings.first { $0.object == missing.hex })
        #expect(lost.kind == .missingObject && lost.dagPath == path && lost.seals == [seal.name.short])
        let damaged = try #require(outcome.findings.first { $0.object == corrupt.hex })
        #expect(damaged.kind == .corruptObject && damaged.dagPath == path)
        #expect(outcome.damaged == [missing, corrupt])
        #expect(outcome.completeSeals.isEmpty)
    }

    @Test func aMissingTreeIsFoundUnderTheRootAndHidesItsChunks() async throws {
        try await storeSnapshot()
        try await store.delete(.object(snapshot.tree))
        let outcome = try await walk()
        #expect(outcome.findings.map(\.kind) == [.missingObject])
        #expect(outcome.findings.first?.object == snapshot.tree.hex)
        #expect(outcome.findings.first?.dagPath == [snapshot.root.hex])
    }

    @Test func anIncrementalWalkChecksPresenceAndOnlyADeepOneRereads() async throws {
        try await storeSnapshot()
        _ = try await walk()
        try await store.delete(.object(snapshot.chunks[0]))
        try store.damage(.object(snapshot.chunks[1])) { $0[$0.count / 2] ^= 0x80 }
        let incremental = try await walk()
        #expect(incremental.objectsRead == 0 && incremental.objectsTrusted == snapshot.objects.count - 1)
        #expect(incremental.findings.map(\.kind) == [.missingObject], "presence is checked every time; bytes only when read")
        let deep = try await walk(WalkOptions(deep: true))
        #expect(Set(deep.findings.map(\.kind)) == [.missingObject, .corruptObject])
        #expect(deep.findings.first { $0.kind == .corruptObject }?.object == snapshot.chunks[1].hex)
    }
}
