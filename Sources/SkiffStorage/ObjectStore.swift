import SkiffCore

/// What `put` did.
package enum PutOutcome: Equatable, Sendable {
    /// The bytes are now stored under the key.
    case stored
    /// The key already held something, which was left unchanged.
    case alreadyPresent
}

/// The storage protocol: five verbs and a flush, small enough to implement in an afternoon.
/// The filesystem store, the S3 store and the HTTPS site client implement it, and all pass
/// `ObjectStoreConformance`.
///
/// Contracts shared by every implementation:
/// - Keys are `StoreKey`s; values are byte strings up to `ObjectHeader.maxObjectSize`.
/// - Stored values are immutable: no verb overwrites one. Only `delete` removes.
/// - A reader sees a value whole or not at all, also after a crash mid-`put`.
/// - Verbs are safe to call concurrently from many tasks and processes.
/// - Cancellation: a cancelled `put` either stored the whole value or nothing.
package protocol ObjectStore: Sendable {
    /// Stores `bytes` under `key` unless the key already holds a value.
    ///
    /// Idempotent: a second put of the same key returns `.alreadyPresent` and never changes
    /// the stored value, even when the bytes differ (callers that need to know compare).
    /// Not durable until `flush()` returns.
    /// - Throws: `StoreError.noSpace` when the medium is full (nothing partial remains).
    func put(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome

    /// The value under `key`, or the bytes in `byteRange` of it, clamped to the value: a range
    /// that starts at or after the end gives no bytes, and memory is never reserved for more
    /// bytes than the value holds (ranges come from outside: `0..<Int.max` is a valid request).
    /// - Throws: `StoreError.notFound` when nothing is stored under `key`.
    func get(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8]

    /// The size of the value under `key`, or nil when there is none.
    func size(_ key: StoreKey) async throws -> Int?

    /// Up to `limit` keys that start with `prefix` and sort after `after` (bytewise), in
    /// increasing order. An empty result means the listing is complete. Values whose `put`
    /// has not finished are never listed.
    func list(prefix: String, after: StoreKey?, limit: Int) async throws -> [StoreKey]

    /// Removes the value under `key`. Idempotent: deleting a missing key succeeds.
    /// Administrators' verb: sites never expose it to host credentials.
    func delete(_ key: StoreKey) async throws

    /// Makes every `put` that returned before this call durable (survives power loss).
    /// One flush covers many puts (group commit); writers flush before writing a seal.
    func flush() async throws

    /// The first `length` bytes of the value of each key (all of a shorter value), nil where a
    /// key holds nothing, in the order of `keys`: how a collection reads object headers. A
    /// store that can read many values in one pass (packs: one index read, then neighbouring
    /// objects in one read each) does; the default reads them one by one.
    func prefixes(of keys: [StoreKey], length: Int) async throws -> [[UInt8]?]

    /// What the store knows of each object's links without reading it, in the order of
    /// `addresses`: a packed store keeps them in its index from the put (rows rebuilt from the
    /// packs alone do not have them). The default knows none (`.unknown`).
    func knownLinks(of addresses: [ObjectAddress]) async throws -> [KnownLinks]
}

extension ObjectStore {
    package func get(_ key: StoreKey) async throws -> [UInt8] {
        try await get(key, byteRange: nil)
    }

    package func knownLinks(of addresses: [ObjectAddress]) async throws -> [KnownLinks] {
        Array(repeating: .unknown, count: addresses.count)
    }

    package func prefixes(of keys: [StoreKey], length: Int) async throws -> [[UInt8]?] {
        var out: [[UInt8]?] = []
        out.reserveCapacity(keys.count)
        for key in keys {
            do { out.append(try await get(key, byteRange: 0..<length)) } catch StoreError.notFound { out.append(nil) }
        }
        return out
    }

    package func exists(_ key: StoreKey) async throws -> Bool {
        try await size(key) != nil
    }

    /// Every key under `prefix`, fetched page by page.
    package func keys(prefix: String, pageSize: Int = 1000) -> StoreListing {
        StoreListing(store: self, prefix: prefix, pageSize: pageSize)
    }
}

/// An async sequence of keys that loads one page at a time, so listing a million objects
/// needs memory for one page only.
package struct StoreListing: AsyncSequence, Sendable {
    package typealias Element = StoreKey
    let store: any ObjectStore
    let prefix: String
    let pageSize: Int

    package struct AsyncIterator: AsyncIteratorProtocol {
        let store: any ObjectStore
        let prefix: String
        let pageSize: Int
        var page: [StoreKey] = []
        var index = 0
        var last: StoreKey?
        var done = false

        package mutating func next() async throws -> StoreKey? {
            if index == page.count {
                guard !done else { return nil }
                page = try await store.list(prefix: prefix, after: last, limit: pageSize)
                index = 0
                if page.isEmpty {
                    done = true
                    return nil
                }
                last = page.last
            }
            defer { index += 1 }
            return page[index]
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, prefix: prefix, pageSize: pageSize)
    }
}
