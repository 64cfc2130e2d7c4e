import SkiffCore

/// Reading many objects, or many objects' first bytes, in few reads (docs/FORMAT.md §7.1,
/// reads by range), and their links without reading them.
extension PackedStore {
    /// How headers are read together: neighbours within 64 KiB, at most 8 MiB a read (a
    /// collection wants a few hundred bytes of each object, and objects are 32 KiB to 4 MiB).
    static let headerCoalescing = ReadCoalescing(gap: 64 << 10, limit: 8 << 20)

    /// Splits `keys` into the objects the index places in packs (by position) and those to read
    /// one by one: records not flushed yet, other keys, and, on a shared store, objects the
    /// index lacks (the single read looks for packs other processes put). Objects absent from
    /// a store only this process writes are in neither.
    private func locate(_ keys: [StoreKey]) throws -> (indexed: [(position: Int, location: PackIndex.Location)], singles: [Int], absent: [Int]) {
        let pending = writer.withLock { state in Set(keys.compactMap(\.objectAddress).filter { state.pending[$0] != nil }) }
        var lookups: [(position: Int, address: ObjectAddress)] = []
        var singles: [Int] = []
        var absent: [Int] = []
        for (position, key) in keys.enumerated() {
            if let address = key.objectAddress, !pending.contains(address) { lookups.append((position, address)) } else { singles.append(position) }
        }
        var indexed: [(position: Int, location: PackIndex.Location)] = []
        for (item, location) in zip(lookups, try index.locations(of: lookups.map(\.address))) {
            if let location { indexed.append((item.position, location)) } else if isShared { singles.append(item.position) } else { absent.append(item.position) }
        }
        return (indexed, singles, absent)
    }

    /// The object's links from the index, or from the put of a record not flushed yet: no pack
    /// is read. A shared store answers `.unknown` for what its index lacks, so the header read
    /// that follows looks for packs other processes put.
    package func knownLinks(of addresses: [ObjectAddress]) async throws -> [KnownLinks] {
        try await ensureIndexed()
        let pending = writer.withLock { state in addresses.map { state.pending[$0] } }
        let indexed = try index.links(of: addresses)
        return zip(pending, indexed).map { record, row in
            if let record { return record.links.map(KnownLinks.known) ?? .unknown }
            return row == .absent && isShared ? .unknown : row
        }
    }

    /// One index read for all the objects, then, pack by pack and in offset order, one read per
    /// run of neighbouring objects. Objects not flushed yet, and any whose pack is gone, are read
    /// one by one (which looks again).
    package func prefixes(of keys: [StoreKey], length: Int) async throws -> [[UInt8]?] {
        try await ensureIndexed()
        var out = [[UInt8]?](repeating: nil, count: keys.count)
        var (indexed, singles, _) = try locate(keys)
        for run in PackRun.plan(indexed, length: length, coalescing: Self.headerCoalescing) {
            do {
                let bytes = try await shelf.read(run.name, range: run.range)
                for member in run.members {
                    let wanted = run.inRead(member.wanted)
                    if wanted.upperBound <= bytes.count { out[member.position] = Array(bytes[wanted]) } else { singles.append(member.position) }
                }
            } catch StoreError.notFound {
                singles += run.members.map(\.position)
            }
        }
        for position in singles {
            do { out[position] = try await get(keys[position], byteRange: 0..<length) } catch StoreError.notFound { out[position] = nil }
        }
        return out
    }

    /// One index read, then the runs of neighbouring objects of each pack (`shelf.coalescing`)
    /// in pack and offset order, each read straight into one buffer while the one before is
    /// delivered. Records not flushed yet, objects whose pack a repack moved meanwhile, and any
    /// other key are read one by one afterwards.
    package func readSpans<Buffer: Sendable>(_ keys: [StoreKey], into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer,
                                             deliver: (ReadSpan<Buffer>) async throws -> Bool) async throws -> [Int] {
        try await ensureIndexed()
        var (indexed, singles, absent) = try locate(keys)
        let runs = PackRun.plan(indexed, length: nil, coalescing: shelf.coalescing)
        let shelf = self.shelf
        func start(_ run: PackRun) -> Task<(Buffer, filled: Int)?, any Error> {
            Task {
                let filled = FilledBytes()
                do {
                    let buffer = try await shelf.read(run.name, range: run.range, into: filled.counting(make))
                    return (buffer, filled.count)
                } catch StoreError.notFound {
                    return nil
                }
            }
        }
        var next = runs.first.map(start)
        defer { next?.cancel() }
        for (number, run) in runs.enumerated() {
            let read = try await next!.value
            next = number + 1 < runs.count ? start(runs[number + 1]) : nil
            guard let (buffer, filled) = read else {
                singles += run.members.map(\.position)
                continue
            }
            var values: [(position: Int, range: Range<Int>)] = []
            for member in run.members {
                let range = run.inRead(member.wanted)
                if range.upperBound <= filled { values.append((member.position, range)) } else { singles.append(member.position) }
            }
            guard try await deliver(ReadSpan(buffer: buffer, values: values)) else { return absent }
        }
        return absent + (try await readSpansOneByOne(keys, at: singles, into: make, deliver: deliver)).absent
    }
}
