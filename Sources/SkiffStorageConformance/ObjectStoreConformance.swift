import SkiffCore
import SkiffStorage

/// A contract check failed; the message says which promise was broken.
package struct ConformanceFailure: Error, CustomStringConvertible {
    package let description: String
    init(_ message: String) { description = message }
}

/// One promise of the `ObjectStore` contract, checked against a fresh, empty store.
package struct ConformanceCheck: Sendable, CustomStringConvertible {
    package let name: String
    package let run: @Sendable (any ObjectStore) async throws -> Void
    package var description: String { name }
}

/// The conformance suite every storage implementation runs (filesystem, S3, HTTPS site).
/// Test targets run each check against a new, empty store of the implementation under test.
package enum ObjectStoreConformance {
    package static let checks: [ConformanceCheck] = [
        ConformanceCheck(name: "put then get returns the same bytes", run: putThenGet),
        ConformanceCheck(name: "second put is alreadyPresent and never overwrites", run: neverOverwrites),
        ConformanceCheck(name: "get of a missing key throws notFound", run: missingIsNotFound),
        ConformanceCheck(name: "size reports presence and length", run: sizeReportsPresence),
        ConformanceCheck(name: "empty and large values round trip", run: emptyAndLargeValues),
        ConformanceCheck(name: "byte ranges are served and clamped", run: byteRanges),
        ConformanceCheck(name: "list is sorted, complete, paged and filtered by prefix", run: listing),
        ConformanceCheck(name: "delete removes and is idempotent", run: deleteIsIdempotent),
        ConformanceCheck(name: "concurrent puts of one key store exactly one value", run: concurrentSameKey),
        ConformanceCheck(name: "concurrent puts of many keys are all readable", run: concurrentManyKeys),
        ConformanceCheck(name: "flush succeeds with and without pending puts", run: flushes),
    ]

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(message()) }
    }

    static func randomAddress() -> ObjectAddress {
        ObjectAddress(Digest256(bytes: SecureRandom.bytes(32)))
    }

    static func putThenGet(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        let value = SecureRandom.bytes(1000)
        try expect(try await store.put(key, value) == .stored, "first put must report .stored")
        try expect(try await store.get(key) == value, "get must return exactly the bytes put")
    }

    static func neverOverwrites(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        let original = SecureRandom.bytes(300)
        _ = try await store.put(key, original)
        try expect(try await store.put(key, original) == .alreadyPresent, "repeated put must report .alreadyPresent")
        try expect(try await store.put(key, SecureRandom.bytes(500)) == .alreadyPresent, "put of different bytes must report .alreadyPresent")
        try expect(try await store.get(key) == original, "a stored value must never be overwritten")
    }

    static func missingIsNotFound(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        do {
            _ = try await store.get(key)
            throw ConformanceFailure("get of a missing key returned a value")
        } catch StoreError.notFound(let missing) {
            try expect(missing == key, "notFound must name the key")
        }
        try expect(try await store.size(key) == nil, "size of a missing key must be nil")
        try expect(try await store.exists(key) == false, "exists of a missing key must be false")
    }

    static func sizeReportsPresence(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        _ = try await store.put(key, SecureRandom.bytes(4321))
        try expect(try await store.size(key) == 4321, "size must be the stored length")
        try expect(try await store.exists(key), "exists must be true after put")
    }

    static func emptyAndLargeValues(_ store: any ObjectStore) async throws {
        let empty = StoreKey.object(randomAddress())
        _ = try await store.put(empty, [])
        try expect(try await store.get(empty) == [], "an empty value must round trip")
        let large = StoreKey.object(randomAddress())
        let value = SecureRandom.bytes(9 << 20 + 17)
        _ = try await store.put(large, value)
        try expect(try await store.get(large) == value, "a 9 MiB value must round trip intact")
    }

    static func byteRanges(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        let value = SecureRandom.bytes(1000)
        _ = try await store.put(key, value)
        try expect(try await store.get(key, byteRange: 10..<20) == Array(value[10..<20]), "a middle range must match")
        try expect(try await store.get(key, byteRange: 990..<2000) == Array(value[990...]), "a range past the end must be clamped")
        try expect(try await store.get(key, byteRange: 0..<1000) == value, "the full range must match")
    }

    static func listing(_ store: any ObjectStore) async throws {
        var objects: [StoreKey] = []
        for _ in 0..<37 {
            let key = StoreKey.object(randomAddress())
            objects.append(key)
            _ = try await store.put(key, [1, 2, 3])
        }
        let sealKeys = [
            try StoreKey("seals/web1/0000000000000001-" + String(repeating: "a", count: 64)),
            try StoreKey("seals/web1.example/0000000000000001-" + String(repeating: "b", count: 64)),
            try StoreKey("seals/web1-b/0000000000000002-" + String(repeating: "c", count: 64)),
        ]
        for key in sealKeys { _ = try await store.put(key, [9]) }
        _ = try await store.put(.config, [7])

        var listed: [StoreKey] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix, pageSize: 5) { listed.append(key) }
        try expect(listed == objects.sorted(), "listing objects page by page must return every object key once, in order (got \(listed.count) of \(objects.count))")

        let seals = try await store.list(prefix: StoreKey.sealsPrefix, after: nil, limit: 100)
        try expect(seals == sealKeys.sorted(), "listing seals must return exactly the seal keys, sorted bytewise: \(seals)")
        let web1 = try await store.list(prefix: "seals/web1/", after: nil, limit: 100)
        try expect(web1 == [sealKeys[0]], "a host's prefix must not match hosts whose names extend it: \(web1)")

        let middle = objects.sorted()[20]
        let rest = try await store.list(prefix: StoreKey.objectsPrefix, after: middle, limit: 1000)
        try expect(rest == Array(objects.sorted()[21...]), "after: must resume strictly after the given key")
        let none = try await store.list(prefix: "objects/zz", after: nil, limit: 10)
        try expect(none.isEmpty, "a prefix with no keys must list nothing")
    }

    static func deleteIsIdempotent(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        _ = try await store.put(key, [1])
        try await store.delete(key)
        try expect(try await store.exists(key) == false, "a deleted key must be gone")
        try await store.delete(key)
        try expect(try await store.put(key, [2]) == .stored, "a deleted key may be stored again")
        try expect(try await store.get(key) == [2], "the new value must be readable")
    }

    static func concurrentSameKey(_ store: any ObjectStore) async throws {
        let key = StoreKey.object(randomAddress())
        let values = (0..<16).map { _ in SecureRandom.bytes(64 << 10) }
        let outcomes = try await withThrowingTaskGroup(of: PutOutcome.self) { group in
            for value in values { group.addTask { try await store.put(key, value) } }
            var all: [PutOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        try expect(outcomes.filter { $0 == .stored }.count == 1, "exactly one concurrent put must store (got \(outcomes))")
        let stored = try await store.get(key)
        try expect(values.contains(stored), "the stored value must be one of the values put, whole")
    }

    static func concurrentManyKeys(_ store: any ObjectStore) async throws {
        let pairs = (0..<64).map { _ in (StoreKey.object(randomAddress()), SecureRandom.bytes(2048)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (key, value) in pairs { group.addTask { _ = try await store.put(key, value) } }
            try await group.waitForAll()
        }
        for (key, value) in pairs {
            try expect(try await store.get(key) == value, "every concurrently put value must be readable")
        }
    }

    static func flushes(_ store: any ObjectStore) async throws {
        try await store.flush()
        _ = try await store.put(.object(randomAddress()), [1, 2])
        try await store.flush()
        try await store.flush()
    }
}
