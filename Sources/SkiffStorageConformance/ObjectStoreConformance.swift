import SkiffCore
import SkiffStorage

/// A contract check failed; the message says which promise was broken.
package struct ConformanceFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ message: String) { description = message }
}

/// One promise of a storage contract, checked against a fresh, empty store of type `Store`.
package struct StoreCheck<Store: Sendable>: Sendable, CustomStringConvertible {
    package let name: String
    package let run: @Sendable (Store, ConformanceFixture) async throws -> Void
    package var description: String { name }

    package init(name: String, run: @escaping @Sendable (Store, ConformanceFixture) async throws -> Void) {
        self.name = name
        self.run = run
    }
}

/// One promise of the `ObjectStore` contract.
package typealias ConformanceCheck = StoreCheck<any ObjectStore>

/// The conformance suite every storage implementation runs (filesystem, S3, HTTPS site).
/// Test targets run each check against a new, empty store of the implementation under test;
/// values are real objects and seals (see `ConformanceFixture`), because some stores (sites)
/// verify what they accept.
package enum ObjectStoreConformance {
    package static let checks: [ConformanceCheck] = [
        ConformanceCheck(name: "put then get returns the same bytes", run: putThenGet),
        ConformanceCheck(name: "second put is alreadyPresent and never overwrites", run: neverOverwrites),
        ConformanceCheck(name: "get of a missing key throws notFound", run: missingIsNotFound),
        ConformanceCheck(name: "size reports presence and length", run: sizeReportsPresence),
        ConformanceCheck(name: "large values round trip", run: largeValues),
        ConformanceCheck(name: "byte ranges are served and clamped", run: byteRanges),
        ConformanceCheck(name: "list is sorted, complete, paged and filtered by prefix", run: listing),
        ConformanceCheck(name: "seals round trip and list by host", run: seals),
        ConformanceCheck(name: "delete removes and is idempotent", run: deleteIsIdempotent),
        ConformanceCheck(name: "concurrent puts of one key store exactly one value", run: concurrentSameKey),
        ConformanceCheck(name: "concurrent puts of many keys are all readable", run: concurrentManyKeys),
        ConformanceCheck(name: "concurrent gets of small, large and missing values each get their own answer", run: concurrentMixedGets),
        ConformanceCheck(name: "flush succeeds with and without pending puts", run: flushes),
        ConformanceCheck(name: "links a store knows match the objects' headers; missing objects are never known", run: knownLinksMatchHeaders),
    ]

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(message()) }
    }

    static func put(_ object: EncodedObject, in store: any ObjectStore) async throws -> PutOutcome {
        try await store.put(.object(object.address), object.bytes)
    }

    static func putThenGet(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        _ = try await put(fixture.sessionKeyObject, in: store)
        let object = try fixture.chunk()
        try expect(try await put(object, in: store) == .stored, "first put must report .stored")
        try expect(try await store.get(.object(object.address)) == object.bytes, "get must return exactly the bytes put")
    }

    static func neverOverwrites(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 300)
        _ = try await put(object, in: store)
        try expect(try await put(object, in: store) == .alreadyPresent, "repeated put must report .alreadyPresent")
        // Different bytes under the same key: a store may refuse them (a site verifies the
        // address) or report .alreadyPresent, but must keep the original.
        let other = try fixture.chunk(size: 500)
        _ = try? await store.put(.object(object.address), other.bytes)
        try expect(try await store.get(.object(object.address)) == object.bytes, "a stored value must never be overwritten")
    }

    static func missingIsNotFound(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let key = StoreKey.object(try fixture.chunk().address)
        do {
            _ = try await store.get(key)
            throw ConformanceFailure("get of a missing key returned a value")
        } catch StoreError.notFound(let missing) {
            try expect(missing == key, "notFound must name the key")
        }
        try expect(try await store.size(key) == nil, "size of a missing key must be nil")
        try expect(try await store.exists(key) == false, "exists of a missing key must be false")
    }

    static func sizeReportsPresence(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 4321)
        _ = try await put(object, in: store)
        try expect(try await store.size(.object(object.address)) == object.bytes.count, "size must be the stored length")
        try expect(try await store.exists(.object(object.address)), "exists must be true after put")
    }

    static func largeValues(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 9 << 20 + 17)
        _ = try await put(object, in: store)
        try expect(try await store.get(.object(object.address)) == object.bytes, "a 9 MiB value must round trip intact")
    }

    static func byteRanges(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 1000)
        let key = StoreKey.object(object.address)
        _ = try await put(object, in: store)
        let value = object.bytes
        try expect(try await store.get(key, byteRange: 10..<20) == Array(value[10..<20]), "a middle range must match")
        try expect(try await store.get(key, byteRange: value.count - 10..<value.count + 1000) == Array(value[(value.count - 10)...]),
                   "a range past the end must be clamped")
        try expect(try await store.get(key, byteRange: 0..<value.count) == value, "the full range must match")
        try expect(try await store.get(key, byteRange: 0..<Int.max) == value, "an open-ended range must be clamped, not allocated")
        try expect(try await store.get(key, byteRange: 990..<(1 << 40)) == Array(value[990...]), "a huge range must be clamped to the value")
        try expect(try await store.get(key, byteRange: value.count..<Int.max).isEmpty, "a range at the end must be empty")
        try expect(try await store.get(key, byteRange: (1 << 40)..<Int.max).isEmpty, "a range past the end must be empty")
    }

    static func listing(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        var objects: [StoreKey] = [.object(fixture.sessionKeyObject.address)]
        _ = try await put(fixture.sessionKeyObject, in: store)
        for _ in 0..<36 {
            let object = try fixture.chunk(size: 64)
            objects.append(.object(object.address))
            _ = try await put(object, in: store)
        }
        var listed: [StoreKey] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix, pageSize: 5) { listed.append(key) }
        try expect(listed == objects.sorted(), "listing objects page by page must return every object key once, in order (got \(listed.count) of \(objects.count))")
        let middle = objects.sorted()[20]
        let rest = try await store.list(prefix: StoreKey.objectsPrefix, after: middle, limit: 1000)
        try expect(rest == Array(objects.sorted()[21...]), "after: must resume strictly after the given key")
        let none = try await store.list(prefix: "objects/zz", after: nil, limit: 10)
        try expect(none.isEmpty, "a prefix with no keys must list nothing")
    }

    static func seals(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        var sealKeys: [StoreKey] = []
        for host in ConformanceFixture.hostNames {
            for seal in try await fixture.sealChain(host == "web1" ? 3 : 1, host: host, in: store) {
                _ = try await store.put(.seal(seal.name), seal.encoded)
                sealKeys.append(.seal(seal.name))
                try expect(try await store.get(.seal(seal.name)) == seal.encoded, "a seal must round trip")
            }
        }
        let all = try await store.list(prefix: StoreKey.sealsPrefix, after: nil, limit: 100)
        try expect(all == sealKeys.sorted(), "listing seals must return exactly the seal keys, sorted bytewise: \(all)")
        let web1 = try await store.list(prefix: "seals/web1/", after: nil, limit: 100)
        try expect(web1.count == 3 && web1.allSatisfy { $0.sealName?.host == "web1" },
                   "a host's prefix must not match hosts whose names extend it: \(web1)")
        let page = try await store.list(prefix: "seals/web1/", after: web1[0], limit: 1)
        try expect(page == [web1[1]], "seal listings must page too")
    }

    static func deleteIsIdempotent(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk()
        let key = StoreKey.object(object.address)
        _ = try await put(object, in: store)
        try await store.delete(key)
        try expect(try await store.exists(key) == false, "a deleted key must be gone")
        try await store.delete(key)
        try expect(try await put(object, in: store) == .stored, "a deleted key may be stored again")
        try expect(try await store.get(key) == object.bytes, "the new value must be readable")
    }

    static func concurrentSameKey(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let object = try fixture.chunk(size: 64 << 10)
        let outcomes = try await withThrowingTaskGroup(of: PutOutcome.self) { group in
            for _ in 0..<16 { group.addTask { try await put(object, in: store) } }
            var all: [PutOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        try expect(outcomes.filter { $0 == .stored }.count == 1, "exactly one concurrent put must store (got \(outcomes))")
        try expect(try await store.get(.object(object.address)) == object.bytes, "the stored value must be whole")
    }

    static func concurrentManyKeys(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let objects = try (0..<64).map { _ in try fixture.chunk(size: 2048) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for object in objects { group.addTask { _ = try await put(object, in: store) } }
            try await group.waitForAll()
        }
        for object in objects {
            try expect(try await store.get(.object(object.address)) == object.bytes, "every concurrently put value must be readable")
        }
    }

    /// Gets issued together may travel together (the site client batches them into one fetch,
    /// whose answer mixes small and large objects with absent ones).
    static func concurrentMixedGets(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let objects = try [10, 70_000, 300, 1 << 20, 5, 200_000, 64 << 10].map { try fixture.chunk(size: $0) }
        for object in objects { _ = try await put(object, in: store) }
        let missing = StoreKey.object(try fixture.chunk(size: 11).address)
        var keys = objects.map { StoreKey.object($0.address) }
        keys.insert(missing, at: 2)
        keys.append(missing)
        let answers = try await withThrowingTaskGroup(of: (Int, [UInt8]?).self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask {
                    do { return (index, try await store.get(key)) } catch StoreError.notFound { return (index, nil) }
                }
            }
            return try await group.reduce(into: [Int: [UInt8]?]()) { $0[$1.0] = $1.1 }
        }
        for (index, key) in keys.enumerated() {
            let expected = objects.first { StoreKey.object($0.address) == key }?.bytes
            try expect(answers[index] == .some(expected), "get \(index) of \(key.path) must answer \(expected.map { "\($0.count) bytes" } ?? "notFound")")
        }
    }

    static func flushes(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        try await store.flush()
        _ = try await put(try fixture.chunk(), in: store)
        try await store.flush()
        try await store.flush()
    }

    static func knownLinksMatchHeaders(_ store: any ObjectStore, _ fixture: ConformanceFixture) async throws {
        let snapshot = try await fixture.storeSnapshot(in: store, host: "links")
        let chunk = try fixture.chunk(size: 3000)
        _ = try await put(chunk, in: store)
        try await store.flush()
        let unflushed = try fixture.chunk(size: 2000)
        _ = try await put(unflushed, in: store)
        let missing = try fixture.chunk(size: 10).address
        var addresses: [ObjectAddress] = []
        for try await key in store.keys(prefix: StoreKey.objectsPrefix) { if let address = key.objectAddress { addresses.append(address) } }
        try expect(addresses.contains(snapshot) && addresses.contains(chunk.address), "the stored objects must be listed")
        addresses.append(missing)
        let known = try await store.knownLinks(of: addresses)
        try expect(known.count == addresses.count, "knownLinks must answer every address")
        for (address, links) in zip(addresses, known) {
            guard case .known(let links) = links else {
                try expect(address == missing || links == .unknown, "a stored object's links are known or unknown, never absent")
                continue
            }
            try expect(address != missing, "a missing object's links cannot be known")
            let header = try ObjectHeader.parse(try await store.get(.object(address)))
            try expect(links == ObjectLinks(header), "known links of \(address) must be its header's")
        }
    }
}
