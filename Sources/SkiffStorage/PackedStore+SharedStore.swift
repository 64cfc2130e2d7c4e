import SkiffCore
import SkiffSystem

/// Several site processes on one bucket (docs/FORMAT.md §11, S13–S15). Each keeps its own pack
/// index; the bucket is the truth. A process learns of the packs others put when it misses an
/// object (pack names sort by the time their packs were started: one listing after the last
/// look finds them), vouches in the bucket and checks that the pack still exists after, and a
/// collection moves a pack to the trash before it reads the vouch records of the objects it
/// drops, so that a vouch either came first and is seen, or finds the pack gone and answers
/// "missing".
extension PackedStore {
    /// How far before the last look a listing starts: a pack started earlier may have been put
    /// since (a pack is put when it is full or at a flush, which sites run at the latest ten
    /// seconds after a put: `settle`), and clocks may be out of step by minutes.
    static let discoveryOverlapSeconds = 600

    /// S13: indexes the packs that are in the bucket and not in this index, listing the packs
    /// started since the last look (less the overlap). One look at a time: a caller that
    /// arrives while a look is under way waits for it and then looks again, so every caller
    /// sees what was put before it called. Returns how many packs were new.
    @discardableResult
    package func discoverPacks() async throws -> Int {
        guard isShared else { return 0 }
        await discovering.acquire()
        defer { discovering.release() }
        let cursor = discoveryCursor.withLock { $0 }
        var newest = cursor
        var found = 0
        for name in try await shelf.names(startedSince: cursor - Self.discoveryOverlapSeconds) {
            newest = max(newest, name.startedAt)
            guard try index.pack(named: name) == nil, let size = try await shelf.size(name) else { continue }
            let id = try index.addPack(name, now: clock())
            // A pack started later holds the newer copy (a repack's output): rows follow it,
            // so that they never stay on a pack a repack deletes after this look.
            try index.commit(pack: id, size: size, finished: true,
                             entries: try await packEntries(name, size: size).entries.map { PackIndex.NewEntry(entry: $0, stored: clock(), replacing: true) })
            found += 1
        }
        discoveryCursor.withLock { $0 = max($0, newest) }
        lastDiscovery.withLock { $0 = ContinuousClock.now }
        return found
    }

    /// Whether a look for new packs finished within the last second. A vouch that misses skips
    /// looking then: answering "missing" is always safe (the host uploads the object again), so
    /// vouches only look to avoid uploads another process already stored, and one look a second
    /// is enough for that. Reads and seal checks, which must not miss, always look.
    func lookedRecently() -> Bool {
        lastDiscovery.withLock { last in last.map { ContinuousClock.now - $0 < .seconds(1) } ?? false }
    }

    /// A pack's entries: its trailer's, else its records' (P3), and whether they came from the
    /// trailer.
    func packEntries(_ name: PackName, size: Int) async throws -> (entries: [PackEntry], fromTrailer: Bool) {
        if let entries = try await trailerEntries(name, size: size) { return (entries, true) }
        let bytes = try await shelf.read(name, range: 0..<size)
        return (bytes.withUnsafeBytes { PackLayout.scanRecords($0).entries }, false)
    }

    /// S14: finds where each object is (learning of packs other processes put when one is
    /// missing), writes the vouch records of those found, and only then answers "present" for
    /// the objects whose pack still exists (one HEAD per pack). A pack found gone is forgotten,
    /// new packs looked for, and those objects looked up once more. An object answered
    /// "missing" needs no record: the host uploads it.
    func vouchShared(_ addresses: [ObjectAddress]) async throws -> [Bool] {
        var answers = [Bool](repeating: false, count: addresses.count)
        var recorded = Set<ObjectAddress>()
        var packs: [PackName: Bool] = [:]
        var discovered = false
        for round in 0..<3 {
            var located: [(position: Int, location: PackIndex.Location?)] = []
            var missing = false
            for (position, address) in addresses.enumerated() where !answers[position] {
                if writer.withLock({ $0.pending[address] != nil }) {
                    answers[position] = true
                    continue
                }
                let location = try index.location(of: address)
                if location == nil { missing = true }
                located.append((position, location))
            }
            if missing, !discovered, round < 2, !lookedRecently() {
                discovered = true
                if try await discoverPacks() > 0 { continue }
            }
            let toRecord = located.filter { $0.location != nil && !recorded.contains(addresses[$0.position]) }.map { addresses[$0.position] }
            _ = try await concurrentMap(toRecord, lanes: Self.sweepLanes) { try await self.inner.recordVouch(.object($0)) }
            recorded.formUnion(toRecord)
            var lookAgain = false
            for (position, location) in located {
                guard let location else { continue }
                if packs[location.name] == nil { packs[location.name] = try await shelf.size(location.name) != nil }
                if packs[location.name]! {
                    answers[position] = true
                } else {
                    try index.removePack(location.pack)
                    lookAgain = true
                }
            }
            guard lookAgain, round < 2, try await discoverPacks() > 0 else { break }
            discovered = true
        }
        let present = zip(addresses, answers).filter(\.1).map(\.0)
        if !present.isEmpty { _ = try index.vouch(present, now: clock()) }
        return answers
    }

    /// S15, after the live objects of `pack` are durable elsewhere and their rows point there:
    /// moves the pack to the trash, then reads the vouch records of the objects it held that no
    /// row names any more; those vouched for since `cutoff` are copied from the trashed copy into
    /// a new pack and indexed again. Then the trashed copy is deleted. Returns how many were kept.
    func retireShared(_ pack: PackIndex.PackRow, moved: Set<ObjectAddress>, cutoff: Int) async throws -> Int {
        let key = shelf.key(pack.name)
        guard let size = try await shelf.size(pack.name) else { return 0 }
        let dropped = try await packEntries(pack.name, size: size).entries.filter { !moved.contains($0.address) }
        guard try await inner.moveToTrash(key) else { return 0 }
        var kept: [PackEntry] = []
        for entry in dropped where try index.location(of: entry.address) == nil {
            if let vouched = try await inner.vouchRecordAge(.object(entry.address)), vouched >= cutoff { kept.append(entry) }
        }
        if !kept.isEmpty {
            let bytes = try await inner.getTrashed(key, byteRange: 0..<size)
            let (appender, id) = try startPack()
            let entries = try bytes.withUnsafeBytes { pack in
                try kept.map { try appender.appendRecord($0.address, UnsafeRawBufferPointer(rebasing: pack[$0.offset..<$0.end])) }
            }
            try await appender.finish(entries: entries)
            try index.commit(pack: id, size: appender.size, finished: true,
                             entries: entries.map { PackIndex.NewEntry(entry: $0, stored: clock(), replacing: false) })
        }
        try await inner.emptyTrash(key)
        return kept.count
    }
}
