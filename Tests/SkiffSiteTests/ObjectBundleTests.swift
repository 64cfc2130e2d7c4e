import SkiffCore
import SkiffSiteProtocol
import SkiffTestSupport
import Testing

/// The bundle framing of docs/PROTOCOL.md: what goes in comes out, and damage is refused.
@Suite struct ObjectBundleTests {
    static func objects() -> [(address: ObjectAddress, bytes: [UInt8])] {
        var random = SeededRandom(seed: 11)
        return [0, 1, 4095, 70_000].map { size in
            let bytes = random.bytes(size)
            return (ObjectAddress(SHA256Hasher.digest(bytes)), bytes)
        }
    }

    /// An uploaded bundle as the site reads it: in pieces of `pieceSize` bytes, of a body
    /// that declares `declared` bytes (nil: no length declared).
    static func parse(_ body: [UInt8], pieceSize: Int = 1000, declared: Int?? = .none) throws -> [(address: ObjectAddress, bytes: [UInt8])] {
        var parser = ObjectBundleParser.upload(declaredLength: declared ?? body.count)
        var records: [(address: ObjectAddress, bytes: [UInt8])] = []
        try body.withUnsafeBytes { raw in
            for start in stride(from: 0, to: raw.count, by: pieceSize) {
                try parser.consume(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + pieceSize, raw.count)])) { address, bytes in
                    records.append((address, try #require(bytes)))
                }
            }
        }
        try parser.finish()
        return records
    }

    @Test func recordsComeBackInOrder() throws {
        var body: [UInt8] = []
        for object in Self.objects() { ObjectBundle.append(object.address, object.bytes, to: &body) }
        #expect(body.count == Self.objects().reduce(0) { $0 + ObjectBundle.framing + $1.bytes.count })
        let parsed = try Self.parse(body)
        #expect(parsed.map(\.address) == Self.objects().map(\.address))
        #expect(parsed.map(\.bytes) == Self.objects().map(\.bytes))
        #expect(try Self.parse([]).isEmpty)
        for pieceSize in [1, 7, 36, 4096, 1 << 20] {
            #expect(try Self.parse(body, pieceSize: pieceSize, declared: .some(nil)).map(\.bytes) == Self.objects().map(\.bytes), "pieces of \(pieceSize)")
        }
    }

    @Test func anUploadThatDeclaresMoreThanItsBodyOrMarksARecordAbsentIsRefused() throws {
        var body: [UInt8] = []
        for object in Self.objects() { ObjectBundle.append(object.address, object.bytes, to: &body) }
        let claim = ObjectBundle.recordHeader(Self.objects()[3].address, length: 1 << 20) + Array(repeating: 0, count: 10)
        #expect(throws: FormatError.self, "a record longer than what is left of the declared body is refused before it is read") {
            try Self.parse(claim, pieceSize: claim.count, declared: claim.count)
        }
        #expect(throws: FormatError.self, "a body longer than declared") { try Self.parse(body, declared: body.count - 1) }
        var absent = ObjectBundle.recordHeader(Self.objects()[0].address, length: nil)
        absent += body
        #expect(throws: FormatError.self, "an upload has no absent records") { try Self.parse(absent) }
    }

    @Test func aCutAnywhereIsRefused() throws {
        var body: [UInt8] = []
        for object in Self.objects() { ObjectBundle.append(object.address, object.bytes, to: &body) }
        var boundaries: Set<Int> = [0]
        var offset = 0
        for object in Self.objects() {
            offset += ObjectBundle.framing + object.bytes.count
            boundaries.insert(offset)
        }
        for cut in [1, 20, 35, 36, 37, 100, body.count - 1] where !boundaries.contains(cut) {
            #expect(throws: FormatError.self, "cut at \(cut)") { try Self.parse(Array(body[..<cut])) }
        }
    }

    @Test func aLengthOverTheObjectLimitIsRefusedBeforeReading() throws {
        var body: [UInt8] = Array(repeating: 7, count: 32)
        let length = UInt32(ObjectHeader.maxObjectSize + 1)
        body += [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
        #expect(throws: FormatError.self) { try Self.parse(body) }
    }

    @Test func aBundleClosesAtItsTargetSizeOrAtTheObjectLimit() {
        #expect(ObjectBundle.accepts(50 << 20, count: 0, bytes: 0, targetBytes: 4 << 20), "an empty bundle takes even a large object")
        #expect(ObjectBundle.accepts(1000, count: 3, bytes: 3000, targetBytes: 4 << 20))
        #expect(!ObjectBundle.accepts(1000, count: 3, bytes: (4 << 20) - 1000, targetBytes: 4 << 20), "framing counts")
        #expect(!ObjectBundle.accepts(1, count: ObjectBundle.maxObjects, bytes: 100, targetBytes: 4 << 20), "no more than maxObjects")
    }

    /// A fetch answer with the objects present, one absent, in pieces of `pieceSize` bytes.
    static func answer(_ parser: inout ObjectBundleParser, absent: ObjectAddress, pieceSize: Int, cutAt end: Int? = nil) throws
        -> [(ObjectAddress, [UInt8]?)]
    {
        var body: [UInt8] = []
        for object in objects() { ObjectBundle.append(object.address, object.bytes, to: &body) }
        body += ObjectBundle.recordHeader(absent, length: nil)
        body = Array(body[..<(end ?? body.count)])
        var delivered: [(ObjectAddress, [UInt8]?)] = []
        for start in stride(from: 0, to: body.count, by: pieceSize) {
            try body[start..<min(start + pieceSize, body.count)].withUnsafeBytes { piece in
                try parser.consume(piece) { delivered.append(($0, $1)) }
            }
        }
        try parser.finish()
        return delivered
    }

    @Test func aFetchAnswerReadInPiecesOfAnySizeGivesEveryObjectOnce() throws {
        let absent = ObjectAddress(SHA256Hasher.digest(Array("not here".utf8)))
        let wanted = Set(Self.objects().map(\.address) + [absent])
        for pieceSize in [1, 7, 36, 37, 4096, 1 << 20] {
            var parser = ObjectBundleParser.fetchAnswer(wanted: wanted)
            let delivered = try Self.answer(&parser, absent: absent, pieceSize: pieceSize)
            #expect(delivered.map(\.0) == Self.objects().map(\.address) + [absent], "pieces of \(pieceSize)")
            #expect(delivered.dropLast().map(\.1) == Self.objects().map(\.bytes), "pieces of \(pieceSize)")
            #expect(delivered.last?.1 == nil)
        }
    }

    @Test func aFetchAnswerCutShortOrHoldingAnObjectNotAskedForIsRefused() throws {
        let absent = ObjectAddress(SHA256Hasher.digest(Array("not here".utf8)))
        let wanted = Set(Self.objects().map(\.address) + [absent])
        for cut in [1, 35, 37, 100, 4_000] {
            var parser = ObjectBundleParser.fetchAnswer(wanted: wanted)
            #expect(throws: FormatError.self, "cut at \(cut)") { try Self.answer(&parser, absent: absent, pieceSize: 10, cutAt: cut) }
        }
        var parser = ObjectBundleParser.fetchAnswer(wanted: wanted.subtracting([Self.objects()[2].address]))
        #expect(throws: FormatError.self) { try Self.answer(&parser, absent: absent, pieceSize: 512) }
        var oversized = ObjectBundleParser.fetchAnswer(wanted: [absent])
        let header = ObjectBundle.recordHeader(absent, length: ObjectHeader.maxObjectSize + 1)
        #expect(throws: FormatError.self) { try header.withUnsafeBytes { try oversized.consume($0) { _, _ in } } }
    }
}
