import Foundation
import Glibc
import SkiffCore
import SkiffReplication
import SkiffSystem
import SkiffTestSupport
import Testing

/// The outbox's spool on its own: records in segment files, read back by location, never
/// overlapping, rolled at the segment size, and removed only whole. Milliseconds each.
@Suite struct OutboxSpoolTests {
    let folder: TemporaryDirectory

    init() throws {
        folder = try TemporaryDirectory("skiff-spool")
    }

    static func object(_ n: Int, size: Int) -> (ObjectAddress, [UInt8]) {
        var random = SeededRandom(seed: UInt64(n + 1))
        let bytes = random.bytes(size)
        return (ObjectAddress(SHA256Hasher.digest(bytes)), bytes)
    }

    @Test func concurrentAppendsReadBackAcrossSegmentsAndARestart() async throws {
        let spool = try OutboxSpool(folder: folder.appending("segments"), segmentBytes: 256 << 10)
        let objects = (0..<200).map { Self.object($0, size: 1 + ($0 * 997) % 9_000) }
        let locations = try await withThrowingTaskGroup(of: (Int, SpoolLocation).self) { group in
            for (n, (address, bytes)) in objects.enumerated() {
                group.addTask { (n, try spool.append(address, bytes)) }
            }
            var found = [SpoolLocation?](repeating: nil, count: objects.count)
            for try await (n, location) in group { found[n] = location }
            return found.map { $0! }
        }
        try spool.sync()
        let segments = Set(locations.map(\.segment))
        #expect(segments.count >= 4, "about 900 KB of records in 256 KiB segments: \(segments.sorted())")
        for segment in segments {
            let records = locations.filter { $0.segment == segment }.sorted { $0.offset < $1.offset }
            for (a, b) in zip(records, records.dropFirst()) {
                #expect(a.offset + 36 + Int64(a.length) <= b.offset, "records never overlap")
            }
        }
        for (n, (address, bytes)) in objects.enumerated() {
            #expect(try spool.read(address, at: locations[n]) == bytes)
        }
        let other = Self.object(999, size: locations[0].length).0
        #expect(throws: ObjectError.self) { try spool.read(other, at: locations[0]) }

        // A torn tail (a crash mid-append) is never written after: a reopened spool starts a
        // new segment, and every record written before stays readable.
        let last = segments.max()!
        let tail = try FileIO.open(folder.appending("segments").appending(String(repeating: "0", count: 16 - String(last, radix: 16).count) + String(last, radix: 16) + ".seg"), flags: O_WRONLY | O_APPEND)
        _ = [UInt8](repeating: 0xEE, count: 100).withUnsafeBytes { write(tail, $0.baseAddress, $0.count) }
        close(tail)
        let reopened = try OutboxSpool(folder: folder.appending("segments"), segmentBytes: 256 << 10)
        let (address, bytes) = Self.object(500, size: 3_000)
        let after = try reopened.append(address, bytes)
        #expect(after.segment == last + 1 && after.offset == 0)
        try reopened.sync()
        for (n, (address, bytes)) in objects.enumerated() {
            #expect(try reopened.read(address, at: locations[n]) == bytes)
        }

        // Only whole segments go, and never the live ones or the one being written.
        let keep = last
        try reopened.removeSegments(below: keep)
        let kept = locations.firstIndex { $0.segment == keep }!
        #expect(try reopened.read(objects[kept].0, at: locations[kept]) == objects[kept].1)
        #expect(try reopened.read(address, at: after) == bytes)
        try reopened.removeSegments(below: .max)
        #expect(try reopened.read(address, at: after) == bytes, "the segment being written stays")
        if let gone = locations.first(where: { $0.segment != keep }) {
            #expect(throws: ObjectError.self) { try reopened.read(objects[locations.firstIndex(of: gone)!].0, at: gone) }
        }
    }

    @Test func openingCreatesNoSegmentAndAWriterSkipsOneAnotherProcessTook() throws {
        let folder = self.folder.appending("segments")
        let writer = try OutboxSpool(folder: folder, segmentBytes: 4096)
        let first = try writer.append(Self.object(1, size: 3_000).0, Self.object(1, size: 3_000).1)
        _ = try OutboxSpool(folder: folder)  // a reader, say `skiff status` beside the agent
        #expect(try FileIO.directoryEntries(folder).count == 1, "a spool that only reads creates no segment")
        let other = try OutboxSpool(folder: folder, segmentBytes: 4096)  // a second writer, `skiff sync`
        let taken = try other.append(Self.object(2, size: 100).0, Self.object(2, size: 100).1)
        #expect(taken.segment == first.segment + 1)
        let (address, bytes) = Self.object(3, size: 3_000)
        let rolled = try writer.append(address, bytes)
        #expect(rolled.segment == first.segment + 2, "the roll skips the segment the other writer took")
        try writer.sync()
        #expect(try writer.read(address, at: rolled) == bytes)
    }
}
