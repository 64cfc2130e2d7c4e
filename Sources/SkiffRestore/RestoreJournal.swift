import Foundation
import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// What an interrupted restore had done, so the next attempt at the same snapshot into the
/// same folder continues instead of starting over.
///
/// An append-only log of records, one `write` each (so it survives the process being killed):
/// `E` the target was empty (or absent) when the first attempt began, so everything in it is
/// the restore's own; `S` a file is being created (written before it is; not needed after
/// `E`); `D` it is finished (content and metadata; batched); `K` an entry was left alone
/// because it existed before the restore. On resume: finished files are skipped without
/// being fetched again; entries left alone stay alone; started files (all files, after `E`)
/// are ours and are replaced; anything else that exists predates the restore and is left
/// alone. Kept outside the target (in the cache folder) and removed when the restore
/// completes. Only what an earlier attempt recorded is held in memory: a restore of a
/// million files does not keep a million paths.
package final class RestoreJournal: Sendable {
    package let path: String
    private let descriptor: Int32
    private let state: Mutex<State>

    private struct State {
        var started = Set<[UInt8]>()
        var done = Set<[UInt8]>()
        var skipped = Set<[UInt8]>()
        var pendingDone: [UInt8] = []
        var lastAppend = ContinuousClock.now
        var resuming = false
        /// An `E` record: every entry in the target is the restore's own.
        var ownsTarget = false
        /// Whether any record was loaded or written.
        var hasRecords = false
    }

    /// Opens (or starts) the journal of restoring `seal` into `target`, under `folder`.
    package init(folder: String, target: String, seal: Digest256) throws {
        try FileIO.makeDirectories(RawPath(folder), mode: 0o700)
        let name = SHA256Hasher.digest(Array("\(target)\0\(seal.hex)".utf8)).hex.prefix(24)
        path = folder + "/restore-\(name).journal"
        var loaded = State()
        if FileIO.exists(RawPath(path)) {
            for line in try FileIO.readFile(RawPath(path)).split(separator: 0x0a) {
                if line.elementsEqual([UInt8(ascii: "E")]) { loaded.ownsTarget = true }
                guard line.count > 2, let entry = Hex.decode(String(decoding: line.dropFirst(2), as: UTF8.self)) else { continue }
                switch line.first {
                case UInt8(ascii: "S"): loaded.started.insert(entry)
                case UInt8(ascii: "D"): loaded.done.insert(entry)
                case UInt8(ascii: "K"): loaded.skipped.insert(entry)
                default: break
                }
            }
            loaded.hasRecords = !(loaded.started.isEmpty && loaded.done.isEmpty && loaded.skipped.isEmpty) || loaded.ownsTarget
            loaded.resuming = !(loaded.started.isEmpty && loaded.skipped.isEmpty) || loaded.ownsTarget
        }
        descriptor = try FileIO.open(RawPath(path), flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o600)
        state = Mutex(loaded)
    }

    deinit { close(descriptor) }

    /// Whether an earlier attempt had started.
    package var isResuming: Bool { state.withLock { $0.resuming } }
    package var resumedFiles: Int { state.withLock { $0.done.count } }

    package func isDone(_ path: [UInt8]) -> Bool { state.withLock { $0.done.contains(path) } }
    package func wasSkipped(_ path: [UInt8]) -> Bool { state.withLock { $0.skipped.contains(path) } }
    /// Whether an earlier attempt created this entry (so it may be replaced).
    package func wasStarted(_ path: [UInt8]) -> Bool { state.withLock { $0.ownsTarget || $0.started.contains(path) } }

    /// Whether everything in the target is the restore's own (an `E` record).
    package var ownsTarget: Bool { state.withLock { $0.ownsTarget } }

    /// Before the first attempt creates anything: when `target` is absent or an empty
    /// directory (`isEmpty`), records `E`, and files need no `S` record of their own. Does nothing when
    /// the journal already holds a record (a resumed restore keeps what it decided first).
    package func claimTargetIfEmpty(_ target: RawPath) throws {
        let claim = try state.withLock { state -> Bool in
            guard !state.hasRecords else { return false }
            if FileIO.exists(target), !(try Self.isEmpty(target)) { return false }
            state.ownsTarget = true
            state.hasRecords = true
            return true
        }
        if claim { try append([UInt8(ascii: "E"), 0x0a]) }
    }

    private func record(_ kind: UInt8, _ path: [UInt8]) -> [UInt8] {
        [kind, 0x20] + Array(Hex.encode(path).utf8) + [0x0a]
    }

    private func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try FileIO.writeAll(descriptor, $0, path: path) }
    }

    /// A directory with no entry, or only an empty `lost+found` (a freshly made filesystem).
    static func isEmpty(_ folder: RawPath) throws -> Bool {
        let names = try FileIO.directoryEntries(folder)
        if names.isEmpty { return true }
        let lostAndFound = folder.appending("lost+found")
        guard names == [Array("lost+found".utf8)], FileIO.isDirectory(lostAndFound) else { return false }
        return try FileIO.directoryEntries(lostAndFound).isEmpty
    }

    /// Records, before the file is created, that this restore creates it (unless the target
    /// is the restore's own).
    package func markStarted(_ path: [UInt8]) throws {
        guard state.withLock({ state in
            defer { state.hasRecords = true }
            return !state.ownsTarget
        }) else { return }
        try append(record(UInt8(ascii: "S"), path))
    }

    /// Records a finished file. Small files are appended in batches (losing the last batch
    /// only redoes them); a file of `largeFileBytes` or more, or any file after a second
    /// without an append, flushes the batch at once, so a kill never costs more than about a
    /// second of small files or one large file.
    package func markDone(_ path: [UInt8], bytes: UInt64) throws {
        let batch = state.withLock { state -> [UInt8]? in
            state.hasRecords = true
            state.pendingDone += record(UInt8(ascii: "D"), path)
            let now = ContinuousClock.now
            guard state.pendingDone.count >= 16 << 10 || bytes >= Self.largeFileBytes || now - state.lastAppend >= .seconds(1) else { return nil }
            defer {
                state.pendingDone = []
                state.lastAppend = now
            }
            return state.pendingDone
        }
        if let batch { try append(batch) }
    }

    /// Files at least this large are recorded as done at once.
    package static let largeFileBytes: UInt64 = 1 << 20

    /// Records, at once, an entry left alone because it existed before the restore.
    package func markSkipped(_ path: [UInt8]) throws {
        state.withLock { state in
            state.hasRecords = true
            state.skipped.insert(path)
        }
        try append(record(UInt8(ascii: "K"), path))
    }

    package func flush() throws {
        let batch = state.withLock { state -> [UInt8] in
            defer { state.pendingDone = [] }
            return state.pendingDone
        }
        if !batch.isEmpty { try append(batch) }
    }

    /// Deletes the journal (the restore completed).
    package func remove() {
        try? FileIO.remove(RawPath(path))
    }
}
