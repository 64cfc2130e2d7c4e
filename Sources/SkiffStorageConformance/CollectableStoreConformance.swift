import Foundation
import SkiffCore
import SkiffStorage

/// One promise of the `CollectableStore` contract (vouches, ages, the trash, sweeping).
package typealias SiteStoreCheck = StoreCheck<any CollectableStore>

/// The conformance suite for what garbage collection relies on, run by the filesystem store
/// and the S3 store alike (docs/FORMAT.md §10, rules G1–G5).
package enum CollectableStoreConformance {
    package static let checks: [SiteStoreCheck] = [
        SiteStoreCheck(name: "vouch and age report presence, size and a fresh time", run: vouchAndAge),
        SiteStoreCheck(name: "the trash hides a value until it is put back or emptied", run: trashRoundTrip),
        SiteStoreCheck(name: "ages of many keys come back in order, nil for missing ones", run: agesInOrder),
        SiteStoreCheck(name: "sweep deletes old values for good and reports missing ones", run: sweepDeletes),
        SiteStoreCheck(name: "sweep puts back values stored or vouched for since the cutoff", run: sweepPutsBack),
        SiteStoreCheck(name: "read into the caller's buffer gives the stored bytes, not found for a missing key", run: readIntoBuffer),
        SiteStoreCheck(name: "readSpans delivers every stored value once with its bytes and names the missing ones", run: readSpansDeliverEveryValue),
        SiteStoreCheck(name: "readSpans stops when delivery says so", run: readSpansStop),
    ]

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        try ObjectStoreConformance.expect(condition, message())
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }

    /// `count` chunk objects of different sizes, stored; their keys and sizes.
    static func stored(_ count: Int, in store: any CollectableStore, _ fixture: ConformanceFixture) async throws -> [(key: StoreKey, size: Int)] {
        var values: [(key: StoreKey, size: Int)] = []
        for i in 0..<count {
            let object = try fixture.chunk(size: 100 + i)
            _ = try await store.put(.object(object.address), object.bytes)
            values.append((.object(object.address), object.bytes.count))
        }
        try await store.flush()
        return values
    }

    static func missingKey(_ fixture: ConformanceFixture) throws -> StoreKey { .object(try fixture.chunk(size: 10).address) }

    static func vouchAndAge(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let before = now - 2  // clock granularity of the store (seconds, HTTP dates)
        let value = try await stored(1, in: store, fixture)[0]
        let missing = try missingKey(fixture)
        try expect(try await store.vouch(missing) == false, "vouch for a missing key must answer false")
        try expect(try await store.size(missing) == nil, "a refused vouch must not create the key")
        try expect(try await store.age(missing) == nil, "age of a missing key must be nil")
        try expect(try await store.vouch(value.key), "vouch for a stored value must answer true")
        let age = try await store.age(value.key)
        try expect(age?.size == value.size, "age must report the stored size, got \(String(describing: age))")
        try expect((age?.modified ?? 0) >= before, "age must be no older than the store or vouch, got \(String(describing: age)) before \(before)")
    }

    static func trashRoundTrip(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let values = try await stored(2, in: store, fixture)
        let (kept, emptied) = (values[0].key, values[1].key)
        try expect(try await store.moveToTrash(try missingKey(fixture)) == false, "moving a missing key to the trash must answer false")
        for key in [kept, emptied] { try expect(try await store.moveToTrash(key), "moving a stored value to the trash must answer true") }
        try expect(try await store.size(kept) == nil, "a trashed value must not be visible under its key")
        try expect(Set(try await store.trashedObjectKeys()) == [kept, emptied], "the trash must list both trashed objects")
        try expect(try await store.trashedAge(kept)?.size == values[0].size, "trashedAge must report the trashed value's size")
        try await store.restoreFromTrash(kept)
        try await store.restoreFromTrash(kept)
        try await store.emptyTrash(emptied)
        try await store.emptyTrash(emptied)
        try expect(try await store.size(kept) == values[0].size, "a value put back must be readable again")
        try expect(try await store.size(emptied) == nil, "an emptied value must be gone")
        try expect(try await store.trashedAge(emptied) == nil, "an emptied value must not stay in the trash")
        try expect(try await store.trashedObjectKeys().isEmpty, "the trash must be empty after put back and empty")
    }

    static func readIntoBuffer(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 70_000)
        _ = try await store.put(.object(object.address), object.bytes)
        try await store.flush()
        // Room larger than asked for, as a growable buffer may give: only the value is written.
        let (asked, read) = try await store.read(.object(object.address)) { count, fill in
            var room = [UInt8](repeating: 0xA5, count: count + 100)
            let written = try room.withUnsafeMutableBytes { try fill($0) }
            return (count, Array(room[..<written]) + [room[count]])
        }
        try expect(asked == object.bytes.count, "read must ask for room for the whole value, asked \(asked)")
        try expect(read.dropLast() == object.bytes[...], "read must fill the room with the stored bytes")
        try expect(read.last == 0xA5, "read must not write past the value's size")
        do {
            _ = try await store.read(try missingKey(fixture)) { count, _ in count }
            throw ConformanceFailure("read of a missing key must throw notFound")
        } catch StoreError.notFound {}
    }

    /// A buffer maker for `readSpans`: exactly the bytes written.
    package static let arrayBuffer: @Sendable (Int, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> [UInt8] = { count, fill in
        var room = [UInt8](repeating: 0, count: count)
        let written = try room.withUnsafeMutableBytes { try fill($0) }
        return Array(room[..<written])
    }

    static func readSpansDeliverEveryValue(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        var objects = try (0..<40).map { try fixture.chunk(size: 100 + 997 * $0) }
        for object in objects { _ = try await store.put(.object(object.address), object.bytes) }
        try await store.flush()
        // Some not flushed yet, one large, one asked for twice, two missing.
        let late = try (0..<3).map { try fixture.chunk(size: 50 + $0) } + [try fixture.chunk(size: 300_000)]
        for object in late { _ = try await store.put(.object(object.address), object.bytes) }
        objects += late
        var keys = objects.map { StoreKey.object($0.address) }.shuffled()
        let missing = [try missingKey(fixture), try missingKey(fixture)]
        keys.insert(missing[0], at: 5)
        keys.append(missing[1])
        keys.append(keys[0])
        var delivered: [Int: [UInt8]] = [:]
        var repeated = false
        let absent = try await store.readSpans(keys, into: arrayBuffer) { span in
            for (position, range) in span.values {
                if delivered[position] != nil { repeated = true }
                delivered[position] = Array(span.buffer[range])
            }
            return true
        }
        try expect(!repeated, "readSpans must deliver each position at most once")
        try expect(Set(absent.map { keys[$0] }) == Set(missing) && Set(absent).count == absent.count,
                   "readSpans must name exactly the missing keys, once each, got \(absent)")
        let bytes = Dictionary(objects.map { (StoreKey.object($0.address), $0.bytes) }, uniquingKeysWith: { a, _ in a })
        for (position, value) in delivered {
            try expect(bytes[keys[position]] == value, "readSpans must deliver the stored bytes of \(keys[position])")
        }
        try expect(Set(delivered.keys.map { keys[$0] }) == Set(bytes.keys), "readSpans must deliver every stored value")
    }

    static func readSpansStop(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let values = try await stored(30, in: store, fixture)
        var spans = 0
        var first: [Int] = []
        _ = try await store.readSpans(values.map(\.key), into: arrayBuffer) { span in
            spans += 1
            first = span.values.map(\.position)
            return false
        }
        try expect(spans == 1 && !first.isEmpty, "readSpans must stop after the delivery that said so, delivered \(spans)")
    }

    static func agesInOrder(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let values = try await stored(40, in: store, fixture)
        var keys = values.map(\.key)
        keys.insert(try missingKey(fixture), at: 7)
        keys.append(try missingKey(fixture))
        let ages = try await store.ages(of: keys)
        try expect(ages.count == keys.count, "ages must answer every key")
        try expect(ages[7] == nil && ages.last! == nil, "ages of missing keys must be nil")
        let present = ages.enumerated().filter { $0.offset != 7 && $0.offset != keys.count - 1 }.map(\.element?.size)
        try expect(present == values.map(\.size), "ages must come back in the order of the keys")
    }

    static func sweepDeletes(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let values = try await stored(40, in: store, fixture)
        let missing = try missingKey(fixture)
        let outcomes = try await store.sweep(values.map(\.key) + [missing], olderThan: now + 3600)
        try expect(outcomes == Array(repeating: .deleted, count: values.count) + [.absent], "sweep must delete every old value, got \(outcomes)")
        for value in values { try expect(try await store.size(value.key) == nil, "a swept value must be gone") }
        try expect(try await store.trashedObjectKeys().isEmpty, "a finished sweep must leave nothing in the trash")
        try expect(try await store.sweep(values.map(\.key), olderThan: now + 3600) == Array(repeating: .absent, count: values.count),
                   "sweeping again must find nothing")
    }

    static func sweepPutsBack(_ store: any CollectableStore, _ fixture: ConformanceFixture) async throws {
        let values = try await stored(20, in: store, fixture)
        let outcomes = try await store.sweep(values.map(\.key), olderThan: now - 3600)
        try expect(outcomes == Array(repeating: .putBack, count: values.count), "values younger than the cutoff must be put back, got \(outcomes)")
        for value in values { try expect(try await store.size(value.key) == value.size, "a value put back must be readable") }
        try expect(try await store.trashedObjectKeys().isEmpty, "put back values must leave the trash")
    }
}
