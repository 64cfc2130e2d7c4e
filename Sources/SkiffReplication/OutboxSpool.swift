import Foundation
import Glibc
import SkiffCore
import SkiffStorage
import SkiffSystem
import Synchronization

/// Where one object lies in the outbox's spool.
package struct SpoolLocation: Sendable, Equatable {
    package var segment: UInt32
    /// Offset of the object's record (its header) in the segment.
    package var offset: Int64
    /// The object's length (the record's, less its header).
    package var length: Int
}

/// The outbox's object bytes, appended to segment files of about `segmentBytes` instead of one
/// file per object: a change set of a thousand small files costs a thousand `pwrite`s into one
/// file and one `fdatasync` of it, not a thousand file creations and a sync of the whole
/// filesystem (which also waited for every other program's dirty data).
///
/// Layout: `<folder>/<16 hex digits>.seg`, numbered upwards. A record is the object's 32-byte
/// address, its length (4 bytes, big-endian), then its bytes. Where each record lies is kept by
/// the outbox (in its SQLite entries once committed), not in the segment: a record whose entry
/// was never committed (a crash between `append` and `sync`) is dead space, never read.
///
/// Contracts:
/// - `append` is safe from many tasks at once; records never overlap. Not durable until `sync`.
/// - A process writes only to segments it created: after a restart, appends go to a new segment,
///   so a torn tail left by a crash is never written after.
/// - `read` checks the record's header against the address and length asked for.
/// - Segments are deleted only whole (`removeSegments`), once nothing committed lies in them
///   or in any segment before them.
package final class OutboxSpool: Sendable {
    package let folder: RawPath
    package let segmentBytes: Int64
    private let state: Mutex<Writer>

    private struct Writer {
        var segment: UInt32
        var size: Int64
        /// Open descriptors of the segment being written and of older ones still needed: with
        /// writes in flight (reserved, not yet written), unsynced, or being synced.
        var open: [UInt32: (fd: Int32, writes: Int)] = [:]
        var unsynced: Set<UInt32> = []
        var syncing: Set<UInt32> = []
        /// A segment file was created since the last sync: the folder must be synced too.
        var created = false

        /// Closes an older segment once nothing needs its descriptor.
        mutating func closeIfDone(_ segment: UInt32) {
            guard segment != self.segment, let entry = open[segment], entry.writes == 0,
                  !unsynced.contains(segment), !syncing.contains(segment) else { return }
            close(entry.fd)
            open[segment] = nil
        }
    }

    /// A record's header: the object's address, then its length (4 bytes, big-endian).
    static let headerSize = 36

    static func header(_ address: ObjectAddress, length: Int) -> [UInt8] {
        var header = address.digest.bytes
        withUnsafeBytes(of: UInt32(length).bigEndian) { header.append(contentsOf: $0) }
        return header
    }

    /// Opens the spool in `folder` (created if missing). The first append starts a new segment
    /// after the highest one there; a process that only reads creates none.
    package init(folder: RawPath, segmentBytes: Int64 = 64 << 20) throws {
        self.folder = folder
        self.segmentBytes = segmentBytes
        try FileIO.makeDirectories(folder, mode: 0o700)
        state = Mutex(Writer(segment: try Self.segments(in: folder).max() ?? 0, size: 0))
    }

    deinit {
        state.withLock { writer in
            for entry in writer.open.values { close(entry.fd) }
        }
    }

    /// The segment numbers present in `folder`.
    static func segments(in folder: RawPath) throws -> [UInt32] {
        try FileIO.directoryEntries(folder).compactMap { name -> UInt32? in
            let text = String(decoding: name, as: UTF8.self)
            guard text.hasSuffix(".seg"), text.utf8.count == 20 else { return nil }
            return UInt32(text.dropLast(4), radix: 16)
        }
    }

    static func fileName(_ segment: UInt32) -> String {
        let hex = String(segment, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + ".seg"
    }

    /// Creates the next segment this process writes to: the first free number after the
    /// current one (another process sharing the outbox, say `skiff sync` beside the agent, may
    /// have taken the next), and closes the previous one once nothing needs it.
    private func startSegment(_ writer: inout Writer) throws {
        let previous = writer.segment
        var next = previous
        while true {
            next += 1
            do {
                let fd = try FileIO.open(folder.appending(Self.fileName(next)), flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
                writer.open[next] = (fd, 0)
                break
            } catch let error as SystemError where error.errno == EEXIST {
                continue
            } catch let error as SystemError {
                throw FileSystemStore.translate(error, context: "create a spool segment")
            }
        }
        writer.segment = next
        writer.size = 0
        writer.created = true
        writer.closeIfDone(previous)
    }

    /// Appends an object's record; returns where it lies.
    /// - Throws: `StoreError.noSpace` when the disk is full (the record is then dead space).
    package func append(_ address: ObjectAddress, _ bytes: [UInt8]) throws -> SpoolLocation {
        let length = Int64(Self.headerSize + bytes.count)
        let (fd, location) = try state.withLock { writer -> (Int32, SpoolLocation) in
            if writer.open[writer.segment] == nil || (writer.size > 0 && writer.size + length > segmentBytes) {
                try startSegment(&writer)
            }
            let location = SpoolLocation(segment: writer.segment, offset: writer.size, length: bytes.count)
            writer.size += length
            writer.open[writer.segment]!.writes += 1
            writer.unsynced.insert(writer.segment)
            return (writer.open[writer.segment]!.fd, location)
        }
        defer {
            state.withLock { writer in
                writer.open[location.segment]!.writes -= 1
                writer.closeIfDone(location.segment)
            }
        }
        var record = Self.header(address, length: bytes.count)
        record.append(contentsOf: bytes)
        try Self.translating("spool \(address.hex.prefix(12))") {
            try record.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: location.offset, path: Self.fileName(location.segment)) }
        }
        return location
    }

    /// Makes every record whose `append` returned before this call durable: `fdatasync` of each
    /// segment written to since the last sync, and of the folder when a segment was created.
    package func sync() throws {
        let (segments, created) = state.withLock { writer -> ([(UInt32, Int32)], Bool) in
            defer {
                writer.syncing = writer.unsynced
                writer.unsynced = []
                writer.created = false
            }
            return (writer.unsynced.map { ($0, writer.open[$0]!.fd) }, writer.created)
        }
        // What is not synced when this returns (an error) is synced next time.
        var pending = Set(segments.map(\.0))
        var folderPending = created
        defer {
            state.withLock { writer in
                writer.unsynced.formUnion(pending)
                writer.created = writer.created || folderPending
                let synced = writer.syncing
                writer.syncing = []
                for segment in synced { writer.closeIfDone(segment) }
            }
        }
        for (segment, fd) in segments {
            try Self.translating("sync the spool") { guard fdatasync(fd) == 0 else { throw SystemError("fdatasync", path: Self.fileName(segment)) } }
            pending.remove(segment)
        }
        if folderPending {
            try Self.translating("sync the spool folder") { try FileIO.syncDirectory(folder) }
            folderPending = false
        }
    }

    /// The bytes of the object recorded at `location`.
    /// - Throws: `ObjectError.missing` when the segment is gone or the record does not hold
    ///   that object (a damaged or foreign spool).
    package func read(_ address: ObjectAddress, at location: SpoolLocation) throws -> [UInt8] {
        let length = location.length
        let path = folder.appending(Self.fileName(location.segment))
        let fd: Int32
        do { fd = try FileIO.open(path, flags: O_RDONLY) } catch let error as SystemError where error.isNotFound {
            throw ObjectError.missing(address)
        }
        defer { close(fd) }
        let record = try FileIO.readUninitialized(Self.headerSize + length) {
            try FileIO.preadFull(fd, into: $0, at: location.offset, path: path.description)
        }
        guard record.count == Self.headerSize + length,
              Array(record[0..<Self.headerSize]) == Self.header(address, length: length)
        else { throw ObjectError.missing(address) }
        return Array(record[Self.headerSize...])
    }

    /// Deletes every segment numbered below `oldestLive` (and below the one being written).
    /// Idempotent.
    package func removeSegments(below oldestLive: UInt32) throws {
        let limit = min(oldestLive, state.withLock { $0.segment })
        for segment in try Self.segments(in: folder) where segment < limit {
            _ = folder.appending(Self.fileName(segment)).withCString { unlink($0) }
        }
    }

    private static func translating<T>(_ context: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as SystemError { throw FileSystemStore.translate(error, context: context) }
    }
}
