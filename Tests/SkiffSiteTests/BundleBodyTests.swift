import NIOCore
import SkiffCore
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffTestSupport
import Synchronization
import Testing

/// The upload body the site client streams: the same bytes as the framing of docs/PROTOCOL.md,
/// in pieces of bounded size, and the same again when the client sends it a second time.
@Suite struct BundleBodyTests {
    static func objects() -> [(address: ObjectAddress, bytes: [UInt8])] {
        var random = SeededRandom(seed: 12)
        let sizes = [0, 1, 100, BundleBody.pieceBytes - 36, BundleBody.pieceBytes, 3 * BundleBody.pieceBytes + 17] + Array(repeating: 2_000, count: 300)
        return sizes.map { size in
            let bytes = random.bytes(size)
            return (ObjectAddress(SHA256Hasher.digest(bytes)), bytes)
        }
    }

    static func pieces(_ body: BundleBody) async throws -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        for try await piece in body { pieces.append(piece) }
        return pieces
    }

    /// Counts the loads a body makes.
    final class Loads: Sendable {
        let count = Mutex(0)
    }

    static func body(_ objects: [(address: ObjectAddress, bytes: [UInt8])], loads: Loads = Loads()) -> BundleBody {
        let bytes = Dictionary(objects.map { ($0.address, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        return BundleBody(addresses: objects.map(\.address), sizes: objects.map(\.bytes.count)) { address in
            loads.count.withLock { $0 += 1 }
            return bytes[address] ?? []
        }
    }

    @Test func piecesJoinIntoTheBundleFramingAndStayBounded() async throws {
        let objects = Self.objects()
        let loads = Loads()
        let body = Self.body(objects, loads: loads)
        var expected: [UInt8] = []
        for object in objects { ObjectBundle.append(object.address, object.bytes, to: &expected) }
        var iterator = body.makeAsyncIterator()
        _ = try await iterator.next()
        let loaded = loads.count.withLock { $0 }
        #expect(loaded < objects.count / 10, "objects are loaded as the body reaches them: \(loaded) of \(objects.count) for one piece")
        let pieces = try await Self.pieces(body)
        #expect(pieces.flatMap { Array($0.readableBytesView) } == expected)
        #expect(body.length == expected.count)
        #expect(pieces.allSatisfy { $0.readableBytes <= BundleBody.pieceBytes + ObjectBundle.framing }, "\(pieces.map(\.readableBytes).max() ?? 0)")
        #expect(pieces.count < 20, "small records share pieces: \(pieces.count) pieces")
        #expect(try await Self.pieces(body) == pieces, "a second sending yields the same body")
        #expect(try await Self.pieces(Self.body([])).isEmpty)
    }

    @Test func anObjectOfAnotherLengthThanDeclaredFailsTheBody() async throws {
        let objects = Self.objects()
        let wrong = BundleBody(addresses: [objects[2].address], sizes: [objects[2].bytes.count + 1]) { _ in objects[2].bytes }
        await #expect(throws: ObjectError.self) { _ = try await Self.pieces(wrong) }
    }
}
