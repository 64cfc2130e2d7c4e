import Glibc
import SkiffCore
import SkiffSystem

/// The walk of a backup run: directories listed in name order, each entry decided from one
/// `lstat` against the directory's cached listing, files read only when they changed, and a
/// directory whose entries all match keeping its tree node without encoding it again.
extension BackupRun {
    /// Backs up `targets` under a tree for "/" that holds only the directories leading to them.
    func backupTree(targets: [RawPath]) async throws -> ObjectAddress {
        try await virtualDirectory(RawPath("/"), targets: targets)
    }

    /// A directory on the way to the targets: its real metadata, only the entries leading on.
    /// Its cache row is partial: it serves lookups of the targets it holds, and never stands
    /// for the whole directory.
    func virtualDirectory(_ path: RawPath, targets: [RawPath]) async throws -> ObjectAddress {
        let status = try FileStatus.lstat(path)
        if targets.contains(path) {
            // "/" itself was given: walk it completely.
            return try await directoryNode(path, status: status, rootDevice: status.device)
        }
        let depth = path.components.count
        var nextNames: [[UInt8]] = []
        for target in targets where target.components.count > depth {
            let name = target.components[depth]
            if nextNames.last != name { nextNames.append(name) }
        }
        nextNames.sort { $0.lexicographicallyPrecedes($1) }
        let previous = try writer.ledger.cachedDirectory(path: path.bytes)
        var walked: [WalkedEntry] = []
        for name in nextNames {
            let child = path.appending(name)
            let childStatus = try FileStatus.lstat(child)
            if targets.contains(child) {
                if childStatus.isDirectory {
                    statistics.directories.add(1, ordering: .relaxed)
                    if let entry = try await subdirectory(child, name: name, status: childStatus, rootDevice: childStatus.device) {
                        walked.append(entry)
                    }
                } else if childStatus.isRegular {
                    let liveDatabase = options.databaseCaptureFolder != nil && DatabaseCapture.hasJournal(child)
                    if !liveDatabase, let cached = unchangedFile(name: name, status: childStatus, listing: previous?.listing) {
                        walked.append(cached)
                    } else if let entry = try await backupFile(child, name: name, status: childStatus, liveDatabaseCandidate: liveDatabase) {
                        walked.append(entry)
                    }
                } else if let entry = try otherEntry(child, name: name, status: childStatus, listing: previous?.listing) {
                    walked.append(entry)
                }
            } else if childStatus.isDirectory {
                statistics.directories.add(1, ordering: .relaxed)
                let below = targets.filter { $0.components.starts(with: child.components) }
                walked.append(WalkedEntry(name: name, status: childStatus, content: .subtree(try await virtualDirectory(child, targets: below))))
            }
        }
        return try await finishDirectory(path, status: status, walked: walked, previous: previous, isComplete: false)
    }

    /// Walks a real directory: lists it, decides each entry against its cached listing (files
    /// read in parallel, bounded; subdirectories walked beside it while slots are free), then
    /// keeps or builds its node.
    func directoryNode(_ path: RawPath, status: FileStatus, rootDevice: UInt64) async throws -> ObjectAddress {
        var names: [[UInt8]] = []
        var opened: OpenDirectory?
        if !(options.oneFileSystem && status.device != rootDevice) {
            do {
                let directory = try OpenDirectory(path, preservingAccessTime: true)
                opened = directory
                names = options.isCacheDirectory(path)
                    ? [Array("CACHEDIR.TAG".utf8)]
                    : try directory.names().sorted { $0.lexicographicallyPrecedes($1) }
            } catch let error as SystemError {
                writer.warn("cannot list \(path): \(error.message)")
            }
        }
        let previous = try writer.ledger.cachedDirectory(path: path.bytes)
        let listing = previous?.listing
        let journaled = options.databaseCaptureFolder == nil ? [] : DatabaseCapture.journaledNames(names)
        var walked = [WalkedEntry?](repeating: nil, count: names.count)
        try await withThrowingTaskGroup(of: (Int, WalkedEntry?).self) { group in
            for (index, name) in names.enumerated() {
                let child = path.appending(name)
                if options.isExcluded(path: child, name: name) { continue }
                if options.databaseCaptureFolder != nil && DatabaseCapture.isCoveredSidecar(child, name: name) { continue }
                let childStatus: FileStatus
                do {
                    childStatus = try opened?.status(of: name, child: child) ?? FileStatus.lstat(child)
                } catch let error as SystemError {
                    if !error.isNotFound { writer.warn("cannot stat \(child): \(error.message)") }
                    continue
                }
                if childStatus.isDirectory {
                    statistics.directories.add(1, ordering: .relaxed)
                    if let reused = try reusableSubtree(child, name: name, status: childStatus) {
                        walked[index] = reused
                    } else if directorySlots.tryAcquire() {
                        group.addTask {
                            defer { self.directorySlots.release() }
                            return (index, try await self.subdirectory(child, name: name, status: childStatus, rootDevice: rootDevice))
                        }
                    } else {
                        walked[index] = try await subdirectory(child, name: name, status: childStatus, rootDevice: rootDevice)
                    }
                } else if childStatus.isRegular {
                    // A database with a journal changes without touching its own file: never from the cache.
                    let liveDatabase = journaled.contains(name)
                    if !liveDatabase, let cached = unchangedFile(name: name, status: childStatus, listing: listing) {
                        walked[index] = cached
                        continue
                    }
                    await fileSlots.acquire()
                    group.addTask {
                        defer { self.fileSlots.release() }
                        return (index, try await self.backupFile(child, name: name, status: childStatus, liveDatabaseCandidate: liveDatabase))
                    }
                } else {
                    walked[index] = try otherEntry(child, name: name, status: childStatus, listing: listing)
                }
            }
            for try await (index, entry) in group { walked[index] = entry }
        }
        return try await finishDirectory(path, status: status, walked: walked.compactMap { $0 }, previous: previous, isComplete: true)
    }

    /// A symlink, device, fifo or socket: unchanged when the listing has its stamp (its tree
    /// entry is then built only if its directory's node is); nil (with a warning) when it
    /// cannot be read.
    func otherEntry(_ path: RawPath, name: [UInt8], status: FileStatus, listing: CachedListing?) throws -> WalkedEntry? {
        var entry = WalkedEntry(name: name, status: status, content: .none)
        entry.compare(with: listing)
        do {
            if !entry.isUnchanged { entry.treeEntry = try TreeEntry.metadata(name: name, path: path, status: status, accounts: writer.accounts) }
            statistics.otherEntries.add(1, ordering: .relaxed)
            return entry
        } catch let error as SystemError {
            if !error.isNotFound { writer.warn("cannot read \(path): \(error.message)") }
            return nil
        }
    }

    /// The entry of a subdirectory found in a walk, its tree stored; nil (with a warning) when
    /// it cannot be read.
    func subdirectory(_ path: RawPath, name: [UInt8], status: FileStatus, rootDevice: UInt64) async throws -> WalkedEntry? {
        do {
            return WalkedEntry(name: name, status: status, content: .subtree(try await directoryNode(path, status: status, rootDevice: rootDevice)))
        } catch let error as SystemError {
            writer.warn("cannot read \(path): \(error.message)")
            return nil
        }
    }

    /// The previous subtree of a directory the agent saw no change in, when the cache has a
    /// complete row for this very directory (same inode, mtime and ctime); its contents are
    /// counted as seen and unchanged without being walked.
    func reusableSubtree(_ path: RawPath, name: [UInt8], status: FileStatus) throws -> WalkedEntry? {
        guard let unchanged = options.unchangedDirectories, unchanged(path),
              let record = try writer.ledger.cachedDirectory(path: path.bytes), record.isComplete, let address = record.address,
              record.inode == status.inode,
              record.modificationTime == status.modificationNanosecondsSinceEpoch, record.changeTime == status.changeNanosecondsSinceEpoch
        else { return nil }
        statistics.filesSeen.add(record.counts.files, ordering: .relaxed)
        statistics.filesUnchanged.add(record.counts.files, ordering: .relaxed)
        statistics.directories.add(record.counts.directories, ordering: .relaxed)
        statistics.otherEntries.add(record.counts.others, ordering: .relaxed)
        statistics.logicalBytes.add(record.counts.bytes, ordering: .relaxed)
        statistics.subtreesReused.add(1, ordering: .relaxed)
        subtreeCounts.withLock { $0[path.bytes] = record.counts }
        return WalkedEntry(name: name, status: status, content: .subtree(address))
    }

    /// Ends a directory: compares each entry not yet known unchanged with the cached listing,
    /// keeps the previous node when every entry is unchanged and none came or went, else
    /// builds the tree entries still missing (an entry that can no longer be read is left
    /// out, with a warning) and the node; then records its row for the cache (unless the row
    /// would be the same).
    func finishDirectory(_ path: RawPath, status: FileStatus, walked: [WalkedEntry], previous: LocalCache.DirectoryRecord?, isComplete: Bool) async throws -> ObjectAddress {
        var walked = walked
        for index in walked.indices where !walked[index].isUnchanged { walked[index].compare(with: previous?.listing) }
        var kept = walked
        let address: ObjectAddress
        let reused = previous.map { $0.address != nil && $0.listing.count == walked.count && walked.allSatisfy(\.isUnchanged) } ?? false
        if reused, let previousAddress = previous?.address {
            address = previousAddress
            statistics.directoriesUnchanged.add(1, ordering: .relaxed)
        } else {
            kept = []
            var entries: [TreeEntry] = []
            for var walkedEntry in walked {
                if walkedEntry.treeEntry == nil {
                    let child = path.appending(walkedEntry.name)
                    do {
                        var entry = try TreeEntry.metadata(name: walkedEntry.name, path: child, status: walkedEntry.status, accounts: writer.accounts)
                        entry.content = walkedEntry.content
                        walkedEntry.treeEntry = entry
                    } catch let error as SystemError {
                        if !error.isNotFound { writer.warn("cannot read \(child): \(error.message)") }
                        continue
                    }
                }
                entries.append(walkedEntry.treeEntry!)
                kept.append(walkedEntry)
            }
            address = try await buildTree(entries).address
        }
        var counts = LocalCache.SubtreeCounts()
        for entry in kept {
            if entry.status.isRegular {
                counts.files += 1
                counts.bytes += entry.size
            } else if entry.status.isDirectory {
                counts.directories += 1
                counts = counts + (subtreeCounts.withLock { $0.removeValue(forKey: path.appending(entry.name).bytes) } ?? .init())
            } else {
                counts.others += 1
            }
        }
        subtreeCounts.withLock { $0[path.bytes] = counts }
        if reused, let previous, previous.counts == counts, previous.isComplete == isComplete, previous.inode == status.inode,
           previous.modificationTime == status.modificationNanosecondsSinceEpoch, previous.changeTime == status.changeNanosecondsSinceEpoch {
            return address
        }
        var listing = CachedListing.Builder()
        for entry in kept { listing.append(name: entry.name, stamp: EntryStamp(entry.status), content: entry.isReusable ? entry.content : nil) }
        if let built = listing.listing {
            writer.ledger.recordDirectory(LocalCache.DirectoryRecord(
                path: path.bytes, inode: status.inode, modificationTime: status.modificationNanosecondsSinceEpoch,
                changeTime: status.changeNanosecondsSinceEpoch, address: address, counts: counts, isComplete: isComplete, listing: built))
        }
        return address
    }
}
