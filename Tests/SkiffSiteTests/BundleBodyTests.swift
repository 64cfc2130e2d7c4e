import NIOCore
import SkiffCore
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffTestSupport
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

    static func pieces(_ body: BundleBody) async -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        for await piece in body { pieces.append(piece) }
        return pieces
    }

    @Test func piecesJoinIntoTheBundleFramingAndStayBounded() async throws {
        let objects = Self.objects()
        let body = BundleBody(objects: objects)
        var expected: [UInt8] = []
        for object in objects { ObjectBundle.append(object.address, object.bytes, to: &expected) }
        let pieces = await Self.pieces(body)
        #expect(pieces.flatMap { Array($0.readableBytesView) } == expected)
        #expect(body.length == expected.count)
        #expect(pieces.allSatisfy { $0.readableBytes <= BundleBody.pieceBytes + ObjectBundle.framing }, "\(pieces.map(\.readableBytes).max() ?? 0)")
        #expect(pieces.count < 20, "small records share pieces: \(pieces.count) pieces")
        #expect(await Self.pieces(body) == pieces, "a second sending yields the same body")
        #expect(await Self.pieces(BundleBody(objects: [])).isEmpty)
    }
}
