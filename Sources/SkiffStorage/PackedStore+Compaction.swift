import SkiffCore

/// Repacking: the second half of garbage collection in a packed store (docs/FORMAT.md §10, G6).
extension PackedStore {
    /// A pack is rewritten once this share of its bytes is garbage. restic repacks from 5 %
    /// unused by default; a quarter keeps the rewrite work of a collection near the garbage it
    /// frees (rewriting a pack that is 25 % garbage moves three bytes per byte freed).
    package static let repackGarbageFraction = 0.25

    /// The packs being written by a compaction, and the moves waiting for them to be durable.
    private struct Output {
        let appender: any PackAppender
        let id: Int64
        var entries: [PackEntry] = []
        var moves: [Int64: [PackEntry]] = [:]
    }

    /// Rewrites the finished packs whose garbage reaches `repackGarbageFraction` of their size,
    /// and merges finished packs under half the target size when there are two or more: each
    /// live object (its hash checked) is appended to a new pack; once that pack is durable the
    /// objects' rows point at it, and a pack no row points into is retired and deleted.
    ///
    /// Safe beside puts, reads and sweeps: a put of an object being moved finds its row and
    /// stores nothing; a sweep that deletes one first leaves its copy as garbage in the new pack;
    /// a read that opened the old pack before it was deleted looks the object up again.
    package func compact(keepingVouchedSince cutoff: Int) async throws -> CompactionReport {
        try await ensureIndexed()
        var report = CompactionReport()
        let openPack = writer.withLock { $0.open?.id }
        let packs = try index.packs().filter { $0.finished && $0.id != openPack }
        var candidates = packs.filter { $0.live <= 0 || Double($0.size - $0.live) >= Self.repackGarbageFraction * Double($0.size) }
        let chosen = Set(candidates.map(\.id))
        let small = packs.filter { !chosen.contains($0.id) && $0.size < targetPackSize / 2 }
        if small.count >= 2 { candidates += small }

        var output: Output?
        var completed: [Completed] = []
        let hasher = SHA256Hasher()
        for pack in candidates {
            let live = try index.entries(in: pack.id)
            var damaged = false
            var moved = Set<ObjectAddress>()
            if let end = live.map(\.end).max() {
                let bytes = try await shelf.read(pack.name, range: 0..<end)
                for entry in live {
                    guard entry.end <= bytes.count,
                          bytes.withUnsafeBytes({ hasher.hash(UnsafeRawBufferPointer(rebasing: $0[entry.offset..<entry.end])) }) == entry.address.digest else {
                        damaged = true
                        continue
                    }
                    if let full = output, !full.entries.isEmpty,
                       full.appender.size + PackLayout.recordHeaderSize + entry.length + Self.trailerSize(entries: full.entries.count + 1) > targetPackSize {
                        try await finishOutput(full, retiring: &completed, cutoff: cutoff, report: &report)
                        output = nil
                    }
                    if output == nil {
                        let (appender, id) = try startPack()
                        output = Output(appender: appender, id: id)
                    }
                    let copy = try bytes.withUnsafeBytes { try output!.appender.appendRecord(entry.address, UnsafeRawBufferPointer(rebasing: $0[entry.offset..<entry.end])) }
                    output!.entries.append(copy)
                    output!.moves[pack.id, default: []].append(copy)
                    moved.insert(entry.address)
                    report.objectsMoved += 1
                    report.bytesMoved += entry.length
                    if output!.appender.size + Self.trailerSize(entries: output!.entries.count) >= targetPackSize {
                        try await finishOutput(output!, retiring: &completed, cutoff: cutoff, report: &report)
                        output = nil
                    }
                }
            }
            if damaged { report.packsWithDamage += 1 } else { completed.append(Completed(pack: pack, moved: moved)) }
        }
        if let output { try await finishOutput(output, retiring: &completed, cutoff: cutoff, report: &report) }
        try await retire(&completed, cutoff: cutoff, report: &report)

        for pack in try index.retiredPacks(before: clock() + 1) {
            try await shelf.delete(pack.name)
            try index.removePack(pack.id)
            report.bytesReclaimed += pack.size
        }
        let stillOpen = writer.withLock { $0.open?.id }
        report.garbageLeft = try index.packs().filter { $0.id != stillOpen }.reduce(0) { $0 + max(0, $1.size - $1.live - PackLayout.headerSize) }
        return report
    }

    /// A pack whose live objects were all appended to output packs.
    private struct Completed {
        let pack: PackIndex.PackRow
        let moved: Set<ObjectAddress>
    }

    /// Finishes an output pack, points the moved objects' rows at it, and retires the packs
    /// completed so far (all their moves are in this pack or earlier ones).
    private func finishOutput(_ output: Output, retiring completed: inout [Completed], cutoff: Int, report: inout CompactionReport) async throws {
        try await output.appender.finish(entries: output.entries)
        let size = output.appender.size
        try index.finish(pack: output.id, size: size)
        for (from, entries) in output.moves {
            try index.relocate(entries, from: from, to: output.id, size: size, finished: true)
        }
        report.bytesReclaimed -= size
        try await retire(&completed, cutoff: cutoff, report: &report)
    }

    /// Marks completed packs retired (their files go at the end of the compaction). On a shared
    /// store each first goes through the trash while the vouch records of its dropped objects
    /// are read (S15).
    private func retire(_ completed: inout [Completed], cutoff: Int, report: inout CompactionReport) async throws {
        for done in completed {
            if isShared {
                report.objectsKeptByVouch += try await retireShared(done.pack, moved: done.moved, cutoff: cutoff)
            }
            if try index.retire(pack: done.pack.id, now: clock()) { report.packsRewritten += 1 }
        }
        completed.removeAll()
    }
}
