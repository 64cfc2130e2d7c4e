import Glibc
import SkiffSystem
import SkiffTestSupport
import Testing

/// `FileIO.pwriteAll(_:_:at:)` with several parts: a pack record's header and body in one
/// system call, byte for byte where they belong.
@Suite struct VectoredWriteTests {
    @Test func partsLandOneAfterAnotherAtTheOffset() throws {
        let folder = try TemporaryDirectory("skiff-pwritev")
        defer { folder.remove() }
        let file = folder.appending("pack")
        let fd = try FileIO.open(file, flags: O_RDWR | O_CREAT, mode: 0o600)
        defer { close(fd) }
        var random = SeededRandom(seed: 3)
        let header = random.bytes(40)
        let body = random.bytes(300_000)
        let tail = random.bytes(7)
        try header.withUnsafeBytes { h in
            try [UInt8]().withUnsafeBytes { empty in
                try body.withUnsafeBytes { b in
                    try tail.withUnsafeBytes { t in try FileIO.pwriteAll(fd, [h, empty, b, t], at: 100, path: file.description) }
                }
            }
        }
        let front = Array(body.prefix(100))
        try front.withUnsafeBytes { try FileIO.pwriteAll(fd, [$0], at: 0, path: file.description) }
        let written = try FileIO.readFile(file)
        #expect(written.count == 100 + header.count + body.count + tail.count)
        #expect(Array(written[100..<140]) == header)
        #expect(Array(written[140..<140 + body.count]) == body)
        #expect(Array(written.suffix(7)) == tail)
        #expect(Array(written.prefix(100)) == front, "a single part goes through pwrite at its offset")
    }
}
