import SkiffCore

/// Reading many objects' first bytes in few reads (docs/FORMAT.md §7.1, reads by range).
extension PackedStore {
    /// Neighbouring wanted ranges of one pack closer than this are read as one range.
    static let coalescingGap = 64 << 10
    /// The most bytes one coalesced read may span.
    static let coalescedReadLimit = 8 << 20

    /// One index read for all the objects, then, pack by pack and in offset order, one read per
    /// run of neighbouring objects. Objects not flushed yet, and any whose pack is gone, are read
    /// one by one (which looks again).
    package func prefixes(of keys: [StoreKey], length: Int) async throws -> [[UInt8]?] {
        try await ensureIndexed()
        var out = [[UInt8]?](repeating: nil, count: keys.count)
        var singles: [Int] = []
        var wanted: [(position: Int, location: PackIndex.Location)] = []
        let pending = writer.withLock { state in Set(keys.compactMap(\.objectAddress).filter { state.pending[$0] != nil }) }
        var indexed: [(position: Int, address: ObjectAddress)] = []
        for (position, key) in keys.enumerated() {
            if let address = key.objectAddress, !pending.contains(address) { indexed.append((position, address)) } else { singles.append(position) }
        }
        for (item, location) in zip(indexed, try index.locations(of: indexed.map(\.address))) {
            // Absent here; a shared store looks for packs other processes put.
            if let location { wanted.append((item.position, location)) } else if isShared { singles.append(item.position) }
        }
        for group in Dictionary(grouping: wanted, by: { $0.location.name }).values {
            let sorted = group.sorted { $0.location.offset < $1.location.offset }
            var start = 0
            while start < sorted.count {
                var end = start + 1
                var spanEnd = sorted[start].location.offset + min(length, sorted[start].location.length)
                while end < sorted.count {
                    let next = sorted[end].location
                    let nextEnd = next.offset + min(length, next.length)
                    guard next.offset - spanEnd <= Self.coalescingGap, nextEnd - sorted[start].location.offset <= Self.coalescedReadLimit else { break }
                    spanEnd = max(spanEnd, nextEnd)
                    end += 1
                }
                let base = sorted[start].location.offset
                do {
                    let bytes = try await shelf.read(sorted[start].location.name, range: base..<spanEnd)
                    for item in sorted[start..<end] {
                        let from = item.location.offset - base
                        let to = min(from + min(length, item.location.length), bytes.count)
                        if from <= to { out[item.position] = Array(bytes[from..<to]) } else { singles.append(item.position) }
                    }
                } catch StoreError.notFound {
                    singles += sorted[start..<end].map(\.position)
                }
                start = end
            }
        }
        for position in singles {
            do { out[position] = try await get(keys[position], byteRange: 0..<length) } catch StoreError.notFound { out[position] = nil }
        }
        return out
    }
}
