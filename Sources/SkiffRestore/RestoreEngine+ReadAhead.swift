import SkiffCore

extension RestoreEngine {
    /// Directories the look-ahead holds decoded at most (their entries, summed): about 40 MiB
    /// of entries. Past it the scout waits for the restore to take some.
    static var maxScoutedEntries: Int { 200_000 }

    /// Reads the tree's directories ahead of the restore, breadth first: every directory node of
    /// one level is asked for at once (few requests, one round trip from a site), decoded, and
    /// kept (`scouted`) until the look-ahead and the restore reach it; then the next level. So a
    /// tree costs a round trip per level, not one per directory. At most `maxScoutedEntries`
    /// entries are held (a directory's until the restore finished it); the scout waits for the
    /// restore below that.
    ///
    /// Advisory like `lookAhead`: an error (a damaged node) ends the scouting of that directory
    /// only, and the restore meets and reports the same error where it reads it.
    func scoutDirectories(_ entries: [TreeEntry]) async throws {
        var level = entries.subdirectoryNodes.map(\.address)
        while !level.isEmpty {
            try Task.checkCancellation()
            while scoutedEntryCount.load(ordering: .relaxed) >= Self.maxScoutedEntries {
                try await Task.sleep(for: .milliseconds(5))
            }
            // Nodes nobody reads yet are asked for together, then every read of the level starts.
            let unread = scoutedDirectories.withLock { state in level.filter { !state.finished.contains($0) && state.reads[$0] == nil } }
            reader.prefetch(unread.map { ($0, Self.nodeSizeEstimate) })
            let reads = level.compactMap(scouted)
            var next: [ObjectAddress] = []
            for read in reads {
                guard let children = try? await read.value else { continue }
                next += children.subdirectoryNodes.map(\.address)
            }
            level = next
        }
    }

    /// The read of a directory's entries that the scout, the look-ahead or the restore started,
    /// or a new one; kept until the restore finished the directory (`finishScouted`), so each
    /// directory is read once whoever comes first. Nil once the restore finished it.
    func scouted(_ address: ObjectAddress) -> Task<[TreeEntry], any Error>? {
        scoutedDirectories.withLock { state in
            if let read = state.reads[address] { return read }
            guard !state.finished.contains(address) else { return nil }
            let read = Task { [self] in
                let entries = try await reader.directoryEntries(address)
                scoutedEntryCount.add(entries.count, ordering: .relaxed)
                return entries
            }
            state.reads[address] = read
            return read
        }
    }

    /// Forgets the entries of a directory the restore finished: the scout and the look-ahead
    /// leave it alone from now on.
    func finishScouted(_ address: ObjectAddress) async {
        guard let read = scoutedDirectories.withLock({ state in
            state.finished.insert(address)
            return state.reads.removeValue(forKey: address)
        }) else { return }
        if let entries = try? await read.value { scoutedEntryCount.subtract(entries.count, ordering: .relaxed) }
    }

    /// Walks the tree ahead of the restore, in the order the restore visits it, and prefetches
    /// the first object of every file (a small file's only chunk, a large file's content list),
    /// keeping at most `options.readAheadBytes` of expected bytes not yet read. Reads started
    /// together leave in few requests, so a restore from a site does not pay a round trip per
    /// small file. Directories come from the scout (`scoutDirectories`), which reads them level
    /// by level ahead of this walk.
    ///
    /// Advisory: the restore never waits for it, reads anything not prefetched itself, and
    /// cancels it at the end; an error here (a damaged node) only stops the look-ahead, and the
    /// restore meets and reports the same error where it reads that node. Files an interrupted
    /// restore already finished are skipped.
    func lookAhead(_ entries: [TreeEntry], relative: [UInt8]) async throws {
        for entry in entries {
            try Task.checkCancellation()
            let path = relative.isEmpty ? entry.name : relative + [0x2f] + entry.name
            switch (entry.type, entry.content) {
            case (.regular, .chunk), (.regular, .list):
                if let journal, journal.isDone(path) { continue }
                while reader.prefetchedBytes.load(ordering: .relaxed) >= options.readAheadBytes {
                    try await Task.sleep(for: .milliseconds(2))
                }
                if let first = entry.firstObject { reader.prefetch([first]) }
            case (.directory, .subtree(let address)):
                // The restore finished it: it is ahead of this walk.
                guard let read = scouted(address) else { continue }
                try await lookAhead(try await read.value, relative: path)
            default:
                continue
            }
        }
    }

    /// What a tree node or content list is counted as while prefetched.
    static var nodeSizeEstimate: Int { 4096 }

    /// Drops what the look-ahead read for a file the restore does not write (already done, a
    /// hard link, left alone): the first object its content is read from.
    func dropReadAhead(of entry: TreeEntry) {
        switch entry.content {
        case .chunk(let address), .list(let address): reader.discardPrefetched([address])
        case .none, .subtree: break
        }
    }
}
