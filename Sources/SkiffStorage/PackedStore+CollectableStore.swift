import Glibc
import SkiffCore

/// Collection verbs of a packed store. An object's age and trash mark live in its index row,
/// and every verb is one SQLite transaction, so rules G3 and G4 hold by serialisation: a vouch
/// either comes before a sweep's delete (the sweep sees the new age and keeps the object) or
/// finds no row (the host is told the object is missing and uploads it again). The bytes of a
/// deleted object stay in its pack as garbage until a repack (`compact`). Other keys are the
/// inner store's.
extension PackedStore: CollectableStore {
    package var isShared: Bool { inner.isShared }

    package func vouch(_ key: StoreKey) async throws -> Bool {
        try await vouch([key])[0]
    }

    /// One transaction for every object key of the batch.
    package func vouch(_ keys: [StoreKey]) async throws -> [Bool] {
        try await ensureIndexed()
        if isShared, keys.allSatisfy({ $0.objectAddress != nil }) { return try await vouchShared(keys.compactMap(\.objectAddress)) }
        var answers = [Bool](repeating: false, count: keys.count)
        var indexed: [(position: Int, address: ObjectAddress)] = []
        let pending = writer.withLock { state in Set(keys.compactMap(\.objectAddress).filter { state.pending[$0] != nil }) }
        for (position, key) in keys.enumerated() {
            if let address = key.objectAddress {
                // A record not flushed yet was stored just now: young, and about to get its row.
                if pending.contains(address) { answers[position] = true } else { indexed.append((position, address)) }
            } else {
                answers[position] = try await inner.vouch(key)
            }
        }
        if !indexed.isEmpty {
            for (item, present) in zip(indexed, try index.vouch(indexed.map(\.address), now: clock())) {
                answers[item.position] = present
            }
        }
        return answers
    }

    package func age(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        try await ages(of: [key])[0]
    }

    package func ages(of keys: [StoreKey]) async throws -> [(modified: Int, size: Int)?] {
        try await ensureIndexed()
        var answers = [(modified: Int, size: Int)?](repeating: nil, count: keys.count)
        var indexed: [(position: Int, address: ObjectAddress)] = []
        for (position, key) in keys.enumerated() {
            if let address = key.objectAddress {
                if let record = writer.withLock({ $0.pending[address] }) {
                    answers[position] = (record.stored, record.entry.length)
                } else {
                    indexed.append((position, address))
                }
            } else {
                answers[position] = try await inner.age(key)
            }
        }
        for (item, age) in zip(indexed, try index.ages(indexed.map(\.address))) { answers[item.position] = age }
        return answers
    }

    package func moveToTrash(_ key: StoreKey) async throws -> Bool {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.moveToTrash(key) }
        try await flushIfPending(address)
        return try index.setTrashed(address, true)
    }

    package func trashedAge(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.trashedAge(key) }
        return try index.ages([address], trashed: true)[0]
    }

    package func restoreFromTrash(_ key: StoreKey) async throws {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.restoreFromTrash(key) }
        _ = try index.setTrashed(address, false)
    }

    /// Objects in the trash are rows with a mark, their bytes in packs: only other keys have
    /// trashed bytes of their own.
    package func getTrashed(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.getTrashed(key, byteRange: byteRange) }
        guard let location = try index.location(of: address, trashed: true) else { throw StoreError.notFound(key) }
        let range = (byteRange ?? 0..<location.length).clamped(to: 0..<location.length)
        return try await shelf.read(location.name, range: (location.offset + range.lowerBound)..<(location.offset + range.upperBound))
    }

    package func emptyTrash(_ key: StoreKey) async throws {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.emptyTrash(key) }
        try index.remove(address, trashed: true)
    }

    package func trashedObjectKeys() async throws -> [StoreKey] {
        try await ensureIndexed()
        return try index.trashedAddresses().map { StoreKey.object($0) }
    }

    /// Judges and deletes a batch of objects in one transaction (no trash needed: see the
    /// type's comment). Other keys, which collections never sweep, go to the inner store's sweep.
    package func sweep(_ keys: [StoreKey], olderThan cutoff: Int) async throws -> [SweepOutcome] {
        try await ensureIndexed()
        let objects = keys.indices.filter { keys[$0].objectAddress != nil }
        let others = keys.indices.filter { keys[$0].objectAddress == nil }
        let addresses = objects.map { keys[$0].objectAddress! }
        for address in addresses { try await flushIfPending(address) }
        var outcomes = [SweepOutcome](repeating: .absent, count: keys.count)
        if !addresses.isEmpty {
            for (position, outcome) in zip(objects, try index.sweep(addresses, olderThan: cutoff)) { outcomes[position] = outcome }
        }
        if !others.isEmpty {
            for (position, outcome) in zip(others, try await inner.sweep(others.map { keys[$0] }, olderThan: cutoff)) { outcomes[position] = outcome }
        }
        return outcomes
    }

    /// Gives a record not flushed yet its row, so that trash and sweep find it.
    private func flushIfPending(_ address: ObjectAddress) async throws {
        if writer.withLock({ $0.pending[address] != nil }) { try await flush() }
    }

    /// Flushes when records wait and puts paused for a second, or the oldest waited ten.
    package func settle() async throws {
        let now = ContinuousClock.now
        let due = writer.withLock { state in
            guard let oldest = state.oldestPending, let last = state.lastAppend else { return false }
            return now - last >= .seconds(1) || now - oldest >= .seconds(10)
        }
        if due { try await flush() }
    }

    /// Learns of the packs other processes sharing the store put (S13).
    package func catchUp() async throws {
        try await ensureIndexed()
        try await discoverPacks()
    }

    package func forgetVouches(olderThan cutoff: Int) async throws {
        try await inner.forgetVouches(olderThan: cutoff)
    }

    /// Copies the damaged bytes to `quarantine/` in the inner store (for inspection) and drops
    /// the object's row: it is never served again.
    package func quarantine(_ key: StoreKey) async throws -> Bool {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.quarantine(key) }
        guard try index.location(of: address) != nil else { return false }
        if let bytes = try? await get(key) {
            _ = try await inner.put(try StoreKey("quarantine/\(key.path.replacingOccurrences(of: "/", with: "_"))-\(clock())"), bytes)
        }
        try index.remove(address)
        return true
    }

    /// Appends the verified copy and points the object's row at it, durably.
    package func replaceDamaged(_ key: StoreKey, _ bytes: [UInt8]) async throws {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.replaceDamaged(key, bytes) }
        _ = try await append(address, bytes, replacing: true)
        try await flush()
    }

    /// The inner store's leftovers, and packs whose writer was killed: marked finished, so a
    /// repack may rewrite them (their records up to the first torn one are indexed already).
    package func removeStaleLeftovers() async throws {
        try await ensureIndexed()
        try await inner.removeStaleLeftovers()
        let open = writer.withLock { $0.open?.id }
        for pack in try index.packs() where !pack.finished && pack.id != open {
            // Its file may be longer than its last flush: what follows is garbage to reclaim.
            if try await shelf.isAbandoned(pack.name) { try index.finish(pack: pack.id, size: try await shelf.size(pack.name) ?? pack.size) }
        }
    }

    /// Reads the object's range of its pack straight into the caller's buffer.
    package func read<Buffer: Sendable>(_ key: StoreKey, into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        try await ensureIndexed()
        guard let address = key.objectAddress else { return try await inner.read(key, into: make) }
        return try await withPlace(key, address) { place -> Buffer? in
            switch place {
            case .pending(let record):
                let range = record.entry.offset..<record.entry.end
                if let bytes = record.appender.pendingBytes(range) { return try copy(bytes, into: make) }
                return try await readPack(record.appender.name, range, into: make)
            case .indexed(let location):
                return try await readPack(location.name, location.offset..<(location.offset + location.length), into: make)
            }
        }
    }

    private func readPack<Buffer: Sendable>(_ name: PackName, _ range: Range<Int>,
                                            into make: @escaping @Sendable (Int, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer? {
        do { return try await shelf.read(name, range: range, into: make) } catch StoreError.notFound { return nil }
    }
}
