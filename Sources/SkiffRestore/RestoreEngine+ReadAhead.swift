import SkiffCore

extension RestoreEngine {
    /// Walks the tree ahead of the restore, in the order the restore visits it, and prefetches
    /// the first object of every file (a small file's only chunk, a large file's content list)
    /// and every directory's node, keeping at most `options.readAheadBytes` of expected bytes
    /// not yet read. Reads started together leave in few requests, so a restore from a site
    /// does not pay a round trip per small file. The directories it reads are kept for the
    /// restore (`lookedAhead`), checked as usual.
    ///
    /// Advisory: the restore never waits for it, reads anything not prefetched itself, and
    /// cancels it at the end; an error here (a damaged node) only stops the look-ahead, and the
    /// restore meets and reports the same error where it reads that node. Files an interrupted
    /// restore already finished are skipped.
    func lookAhead(_ entries: [TreeEntry], relative: [UInt8]) async throws {
        reader.prefetch(entries.subdirectoryNodes)
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
                let children = try await reader.directoryEntries(address)
                lookedAhead.withLock { $0[address] = children }
                try await lookAhead(children, relative: path)
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
