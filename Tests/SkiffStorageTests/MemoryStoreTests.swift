import SkiffCore
import SkiffStorage
import SkiffStorageConformance
import SkiffTestSupport
import Testing

/// The memory store passes the suites every store passes, and keeps the filesystem store's
/// semantics where the suites leave room (quarantine, repair, a full medium, ages).
@Suite struct MemoryStoreTests {
    @Test(arguments: ObjectStoreConformance.checks)
    func conformance(_ check: ConformanceCheck) async throws {
        try await check.run(MemoryStore(), try ConformanceFixture())
    }

    @Test(arguments: CollectableStoreConformance.checks)
    func siteStoreConformance(_ check: SiteStoreCheck) async throws {
        try await check.run(MemoryStore(), try ConformanceFixture())
    }

    static func address(_ byte: UInt8) -> ObjectAddress { ObjectAddress(SHA256Hasher.digest([byte])) }

    @Test func quarantineHidesTheValueAndKeepsItsBytes() async throws {
        let store = MemoryStore()
        let key = StoreKey.object(Self.address(1))
        _ = try await store.put(key, [1, 2, 3])
        #expect(try await store.quarantine(key))
        #expect(try await store.size(key) == nil)
        #expect(try await store.list(prefix: "", after: nil, limit: 10).isEmpty, "a quarantined copy is never listed")
        #expect(store.quarantinedBytes(key) == [1, 2, 3])
        #expect(try await store.quarantine(key) == false, "nothing left to quarantine")
        #expect(try await store.put(key, [4]) == .stored, "a good copy may be stored again")
    }

    @Test func replaceDamagedIsTheOneOverwrite() async throws {
        let store = MemoryStore()
        let key = StoreKey.object(Self.address(2))
        _ = try await store.put(key, [9, 9])
        try store.damage(key) { $0[0] ^= 0xff }
        #expect(try await store.get(key) == [0xf6, 9])
        #expect(try await store.put(key, [9, 9]) == .alreadyPresent, "put never repairs")
        try await store.replaceDamaged(key, [9, 9])
        #expect(try await store.get(key) == [9, 9])
        #expect(store.storedBytes == 2)
    }

    @Test func aFullStoreRefusesWithNoSpaceAndKeepsNothing() async throws {
        let store = MemoryStore(capacity: 10)
        #expect(try await store.put(.object(Self.address(3)), Array(repeating: 0, count: 8)) == .stored)
        await #expect(throws: StoreError.self) { try await store.put(.object(Self.address(4)), [1, 2, 3]) }
        #expect(try await store.size(.object(Self.address(4))) == nil)
        try await store.delete(.object(Self.address(3)))
        #expect(try await store.put(.object(Self.address(4)), [1, 2, 3]) == .stored, "deleting frees room")
    }

    @Test func agesFollowTheClockThroughVouchesAndTheTrash() async throws {
        let clock = ManualClock(1_000)
        let store = MemoryStore(clock: { clock.now })
        let key = StoreKey.object(Self.address(5))
        _ = try await store.put(key, [1])
        clock.set(2_000)
        #expect(try await store.age(key)?.modified == 1_000)
        #expect(try await store.vouch(key))
        #expect(try await store.age(key)?.modified == 2_000)
        #expect(try await store.sweep([key], olderThan: 1_500) == [.putBack], "vouched after the cutoff")
        #expect(try await store.sweep([key], olderThan: 2_001) == [.deleted])
        #expect(try await store.size(key) == nil)
    }

    @Test func theTrashIsNotListedWithTheValues() async throws {
        let store = MemoryStore()
        let keys = [StoreKey.object(Self.address(6)), .object(Self.address(7))]
        for key in keys { _ = try await store.put(key, [1]) }
        #expect(try await store.moveToTrash(keys[0]))
        #expect(try await store.list(prefix: "", after: nil, limit: 10) == [keys[1]])
        #expect(try await store.trashedObjectKeys() == [keys[0]])
    }
}
