import Glibc
import SkiffCore
import SkiffSystem
import Synchronization

/// Windows of packs (16 MiB each) read from a bucket, kept while there is room: a restore or
/// an audit reads objects in about the order they were packed, so one ranged GET of a window
/// serves the many objects in it, as long as the window stays until they are read.
///
/// Windows are kept in memory (tests, and shelves that have no folder) or in files under a
/// folder on the site's disk, where the kernel's page cache keeps the recent ones in memory: a
/// restore reads several files at once, each from its own region of the packs, so the windows
/// it needs at once are many more than a site can hold in its own memory. The least recently
/// used windows go first once `budget` bytes are held. Packs never change, so a window never
/// goes stale; the folder is emptied when the site opens it (what it held is cache).
///
/// A window is fetched once, by whichever reader asks first; others wait for that fetch. A
/// failed fetch is not kept: the next reader tries again.
package final class PackWindows: Sendable {
    package static let windowSize = 16 << 20
    /// 128 MiB in memory.
    package static let memoryBudget = 8 * windowSize
    /// 2 GiB on disk: 128 windows, the packs of a restore's read-ahead for many files at once.
    package static let diskBudget = 2 << 30

    package struct Key: Hashable, Sendable {
        package var prefix: String
        package var name: PackName
        package var number: Int

        package init(prefix: String, name: PackName, number: Int) {
            self.prefix = prefix
            self.name = name
            self.number = number
        }
    }

    enum Window: Sendable {
        case memory([UInt8])
        /// In a file of the folder, of this size.
        case file(Int)

        var size: Int {
            switch self {
            case .memory(let bytes): bytes.count
            case .file(let size): size
            }
        }
    }

    struct Entry {
        let fetch: Task<Window, any Error>
        var lastUse: UInt64
        var size = 0
    }

    struct State {
        var entries: [Key: Entry] = [:]
        var held = 0
        var clock: UInt64 = 0
    }

    let folder: RawPath?
    let budget: Int
    private let state = Mutex(State())

    /// Windows in memory, at most `budget` bytes of them.
    package init(budget: Int = memoryBudget) {
        folder = nil
        self.budget = budget
    }

    /// Windows in files under `folder` (emptied now; created when missing), at most `budget`
    /// bytes of them.
    package init(folder: RawPath, budget: Int = diskBudget) throws {
        self.folder = folder
        self.budget = budget
        do {
            try FileIO.removeTree(folder)
            try FileIO.makeDirectories(folder, mode: 0o700)
        } catch let error as SystemError {
            throw FileSystemStore.translate(error, context: folder.description)
        }
    }

    func path(_ key: Key) -> RawPath? {
        folder?.appending("\(key.prefix.isEmpty ? "" : key.prefix + "-")\(key.name.hex)-\(key.number)")
    }

    /// The bytes of `range` of the window (clamped to its size) and the window's size; `fetch`
    /// reads the window from the bucket when it is not held.
    package func bytes(_ key: Key, _ range: Range<Int>, fetch: @escaping @Sendable () async throws -> [UInt8]) async throws -> (bytes: [UInt8], windowSize: Int) {
        for attempt in 0..<2 {
            let task = entry(key, fetch: fetch)
            let window: Window
            do { window = try await task.value } catch {
                state.withLock { state in
                    if state.entries[key]?.fetch == task { state.entries[key] = nil }
                }
                throw error
            }
            let clamped = range.clamped(to: 0..<window.size)
            switch window {
            case .memory(let bytes):
                return (Array(bytes[clamped]), window.size)
            case .file(let size):
                // Evicted between the fetch and this read: fetch it again, once.
                guard let bytes = try readFile(key, clamped) else {
                    if attempt == 0 { continue }
                    throw StoreError.io("the window \(key.number) of pack \(key.name) left the cache while it was read")
                }
                return (bytes, size)
            }
        }
        throw StoreError.io("unreachable")
    }

    /// The fetch of the window, started now when it is not held, and the window made the most
    /// recently used.
    private func entry(_ key: Key, fetch: @escaping @Sendable () async throws -> [UInt8]) -> Task<Window, any Error> {
        state.withLock { state in
            state.clock += 1
            if var entry = state.entries[key] {
                entry.lastUse = state.clock
                state.entries[key] = entry
                return entry.fetch
            }
            let path = path(key)
            let task = Task { [weak self] () -> Window in
                let bytes = try await fetch()
                guard let path else {
                    self?.held(key, bytes.count)
                    return .memory(bytes)
                }
                try await BlockingWork.run { try FileIO.writeFile(path, bytes) }
                self?.held(key, bytes.count)
                return .file(bytes.count)
            }
            state.entries[key] = Entry(fetch: task, lastUse: state.clock)
            return task
        }
    }

    /// Counts a fetched window and evicts the least recently used ones over the budget.
    private func held(_ key: Key, _ size: Int) {
        let evicted: [Key] = state.withLock { state in
            guard state.entries[key] != nil else { return [] }
            state.entries[key]!.size = size
            state.held += size
            var evicted: [Key] = []
            if state.held > budget {
                for (candidate, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) where entry.size > 0 && candidate != key {
                    guard state.held > budget else { break }
                    state.entries[candidate] = nil
                    state.held -= entry.size
                    evicted.append(candidate)
                }
            }
            return evicted
        }
        for key in evicted { if let path = path(key) { try? FileIO.remove(path) } }
    }

    /// The bytes of `range` of a window's file; nil when the file is gone.
    private func readFile(_ key: Key, _ range: Range<Int>) throws -> [UInt8]? {
        guard let path = path(key) else { return nil }
        do {
            let fd = try FileIO.open(path, flags: O_RDONLY)
            defer { close(fd) }
            return try FileIO.readUninitialized(range.count) { room in
                try FileIO.preadFull(fd, into: room, at: Int64(range.lowerBound), path: path.description)
            }
        } catch let error as SystemError where error.isNotFound {
            return nil
        } catch let error as SystemError {
            throw StoreError.io("\(error)")
        }
    }

    /// Drops every window and, on disk, the folder (the process is done reading).
    package func discard() {
        state.withLock { $0 = State() }
        if let folder { try? FileIO.removeTree(folder) }
    }

    /// Drops the windows of a pack that was deleted.
    func forget(prefix: String, name: PackName) {
        let dropped: [Key] = state.withLock { state in
            let keys = state.entries.keys.filter { $0.prefix == prefix && $0.name == name }
            for key in keys {
                state.held -= state.entries[key]!.size
                state.entries[key] = nil
            }
            return keys
        }
        for key in dropped { if let path = path(key) { try? FileIO.remove(path) } }
    }
}
