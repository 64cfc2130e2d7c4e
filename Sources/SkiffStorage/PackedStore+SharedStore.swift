import SkiffCore
import SkiffSystem

/// Several site processes on one bucket (docs/FORMAT.md §11, S13–S15). Each keeps its own pack
/// index; the bucket is the truth. A process announces every pack it puts, learns of the packs
/// others announced when it misses an object, vouches in the bucket and checks that the pack
/// still exists after, and a collection moves a pack to the trash before it reads the vouch
/// records of the objects it drops, so that a vouch either came first and is seen, or finds
/// the pack gone and answers "missing".
extension PackedStore {
    static let packLogPrefix = "packlog/"
    /// Listing overlap for clocks out of step, and for announcements still in flight.
    static let packLogOverlapSeconds = 120

    static func packKey(_ name: PackName) -> StoreKey { try! StoreKey(name.path) }

    /// S13: records that `name` is on the shelf, as `packlog/<12 digits Unix seconds>-<name>`
    /// (empty). Only shared stores announce; the pack must be durable first.
    func announce(_ name: PackName) async throws {
        guard isShared else { return }
        _ = try await inner.put(try StoreKey("\(Self.packLogPrefix)\(Self.packLogTime(clock()))-\(name.hex)"), [])
        try await inner.flush()
    }

    static func packLogTime(_ seconds: Int) -> String {
        let digits = String(max(0, seconds))
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// S13: indexes the packs other processes announced since this process last looked (with
    /// an overlap for clock skew). One at a time: a caller that arrives while a look is under way
    /// waits for it and then looks again, so every caller sees what was announced before it
    /// called. Returns how many packs were new.
    @discardableResult
    package func discoverPacks() async throws -> Int {
        guard isShared else { return 0 }
        await discovering.acquire()
        defer { discovering.release() }
        let cursor = discoveryCursor.withLock { $0 }
        var after: StoreKey? = cursor > Self.packLogOverlapSeconds
            ? try StoreKey(Self.packLogPrefix + Self.packLogTime(cursor - Self.packLogOverlapSeconds)) : nil
        var newest = cursor
        var found = 0
        while true {
            let page = try await inner.list(prefix: Self.packLogPrefix, after: after, limit: 1000)
            guard let last = page.last else { break }
            after = last
            for key in page {
                let entry = key.path.dropFirst(Self.packLogPrefix.count)
                guard let dash = entry.firstIndex(of: "-"), let time = Int(entry[..<dash]),
                      let name = PackName(hex: entry[entry.index(after: dash)...]) else { continue }
                newest = max(newest, time)
                guard try index.pack(named: name) == nil, let size = try await shelf.size(name) else { continue }
                let entries = try await packEntries(name, size: size)
                let id = try index.addPack(name, now: clock())
                // A pack announced later holds the newer copy (a repack's output): rows follow it,
                // so that they never stay on a pack a repack deletes after this look.
                try index.commit(pack: id, size: size, finished: true,
                                 entries: entries.map { PackIndex.NewEntry(entry: $0, stored: clock(), replacing: true) })
                found += 1
            }
        }
        discoveryCursor.withLock { $0 = max($0, newest) }
        return found
    }

    /// A pack's entries: its trailer's, else its records' (P3).
    func packEntries(_ name: PackName, size: Int) async throws -> [PackEntry] {
        if let entries = try await trailerEntries(name, size: size) { return entries }
        let bytes = try await shelf.read(name, range: 0..<size)
        return bytes.withUnsafeBytes { PackLayout.scanRecords($0).entries }
    }

    /// S14: writes every object's vouch record first, then answers "present" only for objects
    /// whose pack still exists (one HEAD per pack). A pack found gone is forgotten, the packs
    /// announced meanwhile are indexed, and those objects are looked up once more.
    func vouchShared(_ addresses: [ObjectAddress]) async throws -> [Bool] {
        _ = try await concurrentMap(addresses, lanes: Self.sweepLanes) { try await self.inner.recordVouch(.object($0)) }
        var answers = [Bool](repeating: false, count: addresses.count)
        var packs: [PackName: Bool] = [:]
        for round in 0..<2 {
            var lookAgain = false
            for (position, address) in addresses.enumerated() where !answers[position] {
                if writer.withLock({ $0.pending[address] != nil }) {
                    answers[position] = true
                    continue
                }
                guard let location = try index.location(of: address) else {
                    lookAgain = true
                    continue
                }
                if packs[location.name] == nil { packs[location.name] = try await shelf.size(location.name) != nil }
                if packs[location.name]! {
                    answers[position] = true
                } else {
                    try index.removePack(location.pack)
                    lookAgain = true
                }
            }
            guard round == 0, lookAgain, try await discoverPacks() > 0 else { break }
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
        let key = Self.packKey(pack.name)
        guard let size = try await shelf.size(pack.name) else { return 0 }
        let dropped = try await packEntries(pack.name, size: size).filter { !moved.contains($0.address) }
        guard try await inner.moveToTrash(key) else { return 0 }
        var kept: [PackEntry] = []
        for entry in dropped where try index.location(of: entry.address) == nil {
            if let vouched = try await inner.vouchRecordAge(.object(entry.address)), vouched >= cutoff { kept.append(entry) }
        }
        if !kept.isEmpty {
            let bytes = try await inner.getTrashed(key, byteRange: 0..<size)
            let name = PackName.random()
            let appender = try shelf.create(name)
            let id = try index.addPack(name, now: clock())
            var entries: [PackEntry] = []
            for entry in kept {
                let header = PackLayout.recordHeader(address: entry.address, length: entry.length)
                let start = try header.withUnsafeBytes { h in
                    try bytes.withUnsafeBytes { try appender.append([h, UnsafeRawBufferPointer(rebasing: $0[entry.offset..<entry.end])]) }
                }
                entries.append(PackEntry(address: entry.address, offset: start + PackLayout.recordHeaderSize, length: entry.length))
            }
            _ = try PackLayout.trailer(entries).withUnsafeBytes { try appender.append([$0]) }
            try await appender.finish()
            try await announce(name)
            try index.commit(pack: id, size: appender.size, finished: true,
                             entries: entries.map { PackIndex.NewEntry(entry: $0, stored: clock(), replacing: false) })
        }
        try await inner.emptyTrash(key)
        return kept.count
    }
}
