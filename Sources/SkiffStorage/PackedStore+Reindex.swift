import SkiffCore

/// What `PackedStore.reindex()` found.
package struct ReindexReport: Sendable, Equatable {
    package var packs = 0
    package var objects = 0
    /// Packs without a valid trailer, read record by record up to the first torn one.
    package var packsScanned = 0

    package init() {}
}

extension PackedStore {
    /// Rebuilds the index from the packs alone (docs/FORMAT.md §7.1, P4): each pack's trailer
    /// when it has a valid one, otherwise its records front to back, each checked against its
    /// address, up to the first torn or damaged one. Every object gets the age "now", so a
    /// collection right after keeps even unreferenced ones for its grace period. An object in
    /// several packs is indexed at its first.
    ///
    /// Run it while no other process writes to the store (`skiff-site reindex` stops the site
    /// first; a local repository's rebuild holds its exclusive lock).
    package func reindex() async throws -> ReindexReport {
        await rebuilding.acquire()
        defer { rebuilding.release() }
        rebuildPending.store(false, ordering: .releasing)
        return try await rebuildIndex()
    }

    func rebuildIndex() async throws -> ReindexReport {
        var report = ReindexReport()
        try index.removeAll()
        let now = clock()
        for name in try await shelf.names(startedSince: 0) {
            guard let size = try await shelf.size(name) else { continue }
            let (entries, fromTrailer) = try await packEntries(name, size: size)
            // A pack without a trailer may still be written to: finished only when abandoned.
            var finished = fromTrailer
            if !finished { finished = try await shelf.isAbandoned(name) }
            if !fromTrailer { report.packsScanned += 1 }
            let id = try index.addPack(name, now: now)
            try index.commit(pack: id, size: size, finished: finished,
                             entries: entries.map { PackIndex.NewEntry(entry: $0, stored: now, replacing: false) })
            report.packs += 1
            report.objects += entries.count
        }
        // Every pack put until now is in the index: later looks for new packs start from here.
        discoveryCursor.withLock { $0 = clock() }
        return report
    }

    /// The entries of a pack's trailer, or nil when it has no valid one.
    func trailerEntries(_ name: PackName, size: Int) async throws -> [PackEntry]? {
        guard size >= PackLayout.headerSize + PackLayout.footerSize else { return nil }
        let footer = try await shelf.read(name, range: (size - PackLayout.footerSize)..<size)
        guard let entryBytes = PackLayout.trailerEntryBytes(footer: footer, packSize: size) else { return nil }
        let tail = try await shelf.read(name, range: (size - PackLayout.footerSize - entryBytes)..<size)
        return try? PackLayout.parseTrailer(tail, packSize: size)
    }
}
