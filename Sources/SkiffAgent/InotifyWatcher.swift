import Foundation
import Glibc
import Logging
import SkiffSystem
import Synchronization

/// Watches directory trees with inotify and reports what changed to a `ChangeCollector`.
///
/// Every directory under the roots gets a watch; directories that appear (created or moved
/// in) are watched as they come, with their contents reported. When the kernel's queue
/// overflows, or a watch cannot be added (the `max_user_watches` limit), the collector is
/// told to rescan everything: nothing is lost, it only costs a full pass (whose file cache
/// makes unchanged files one stat each). Events are read on a thread of its own.
package final class InotifyWatcher: Sendable {
    private let descriptor: Int32
    private let collector: ChangeCollector
    private let logger: Logger
    private let isExcluded: @Sendable (RawPath) -> Bool
    /// Watch descriptor → the directory it watches.
    private let directories = Mutex<[Int32: RawPath]>([:])
    private let stopped = Atomic<Bool>(false)
    /// Watches added since start (the agent's metrics and status show it).
    package let watchCount = Atomic<Int>(0)
    /// False once a directory could not be watched or events were lost: then only full walks
    /// are trustworthy, never "nothing changed below here".
    package let isComplete = Atomic<Bool>(true)

    static let mask: UInt32 = UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK)

    /// - Throws: `SystemError` when inotify is not available.
    package init(collector: ChangeCollector, logger: Logger, isExcluded: @escaping @Sendable (RawPath) -> Bool) throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw SystemError("inotify_init1", path: "") }
        self.collector = collector
        self.logger = logger
        self.isExcluded = isExcluded
    }

    deinit { close(descriptor) }

    /// Watches every directory under `roots` and starts reading events.
    package func start(roots: [RawPath]) {
        for root in roots { watchTree(root) }
        let thread = Thread { [self] in readLoop() }
        thread.name = "skiff-inotify"
        thread.start()
    }

    /// Stops reading (within a fraction of a second). Idempotent.
    package func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Adds watches to `directory` and everything below it (not following symlinks, not
    /// into excluded paths). A failure to add one asks the collector for a full rescan.
    private func watchTree(_ directory: RawPath) {
        var pending = [directory]
        while let next = pending.popLast() {
            guard !isExcluded(next) else { continue }
            let wd = next.withCString { inotify_add_watch(descriptor, $0, Self.mask | UInt32(IN_DONT_FOLLOW)) }
            if wd < 0 {
                let code = errno
                if code == ENOSPC || code == ENOMEM {
                    logger.warning("cannot add an inotify watch (fs.inotify.max_user_watches reached); falling back to rescans",
                                   metadata: ["directory": "\(next)"])
                    isComplete.store(false, ordering: .relaxed)
                    collector.requestRescan(reason: "inotify watch limit reached")
                } else if code != ENOENT && code != ENOTDIR {
                    logger.warning("cannot watch a directory", metadata: ["directory": "\(next)", "errno": "\(code)"])
                    isComplete.store(false, ordering: .relaxed)
                    collector.requestRescan(reason: "a directory could not be watched")
                }
                continue
            }
            if directories.withLock({ $0.updateValue(next, forKey: wd) }) == nil { watchCount.add(1, ordering: .relaxed) }
            guard let entries = try? FileIO.directoryEntriesWithTypes(next) else { continue }
            for entry in entries where entry.isDirectory { pending.append(next.appending(entry.name)) }
        }
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while !stopped.load(ordering: .relaxed) {
            let ready = poll(&poller, 1, 250)
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            buffer.withUnsafeBytes { handle(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<inotify_event>.size
        var offset = 0
        while offset + headerSize <= bytes.count {
            let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let nameLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = bytes[(offset + headerSize)..<min(bytes.count, offset + headerSize + nameLength)]
            offset += headerSize + nameLength
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                logger.warning("the inotify queue overflowed; rescanning everything")
                isComplete.store(false, ordering: .relaxed)
                collector.requestRescan(reason: "inotify queue overflow")
                continue
            }
            if mask & UInt32(IN_IGNORED) != 0 {
                directories.withLock { _ = $0.removeValue(forKey: wd) }
                continue
            }
            guard let directory = directories.withLock({ $0[wd] }) else { continue }
            let name = Array(nameBytes.prefix { $0 != 0 })
            let path = name.isEmpty ? directory : directory.appending(name)
            guard !isExcluded(path) else { continue }
            collector.record(path)
            if mask & UInt32(IN_ISDIR) != 0 && mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                watchTree(path)
            }
        }
    }
}
