import SkiffCore
import SkiffSiteProtocol

/// Input: one byte `w` (the first `w % 9` records' addresses are the ones asked for; later
/// records naming other addresses must be refused), one byte seeding the sizes of the pieces
/// the answer arrives in, then the answer. It is parsed twice, in those pieces and in one
/// piece: both must deliver the same objects and agree on failure, and every delivery must be
/// for an address asked for, of at most the object limit.
enum FetchAnswerFuzz {
    struct Result: Equatable {
        var deliveries: [(ObjectAddress, [UInt8]?)]
        var failed: Bool

        static func == (a: Result, b: Result) -> Bool {
            a.failed == b.failed && a.deliveries.count == b.deliveries.count
                && zip(a.deliveries, b.deliveries).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
    }

    static func run(_ data: UnsafeRawBufferPointer) -> FuzzOutcome {
        guard data.count >= 2 else { return .rejected }
        let answer = UnsafeRawBufferPointer(rebasing: data[2...])
        let wanted = askedFor(answer, count: Int(data[0]) % 9)
        var state = UInt32(data[1]) | 0x100
        let pieced = parse(answer, wanted: wanted) {
            state = state &* 1_103_515_245 &+ 12345
            return 1 + Int(state >> 16) % 97
        }
        let whole = parse(answer, wanted: wanted) { answer.count }
        precondition(pieced == whole, "a fetch answer parses differently in pieces")
        return whole.failed ? .rejected : .accepted
    }

    /// The addresses of the first `count` records, walking the framing as a site writes it.
    static func askedFor(_ answer: UnsafeRawBufferPointer, count: Int) -> Set<ObjectAddress> {
        var wanted = Set<ObjectAddress>()
        var offset = 0
        while wanted.count < count, answer.count - offset >= ObjectBundle.framing {
            let (address, length) = ObjectBundle.readHeader(UnsafeRawBufferPointer(rebasing: answer[offset..<offset + ObjectBundle.framing]))
            wanted.insert(address)
            offset += ObjectBundle.framing + (length == Int(ObjectBundle.absentLength) ? 0 : min(length, answer.count))
        }
        return wanted
    }

    static func parse(_ answer: UnsafeRawBufferPointer, wanted: Set<ObjectAddress>, pieceSize: () -> Int) -> Result {
        var parser = ObjectBundleParser.fetchAnswer(wanted: wanted)
        var result = Result(deliveries: [], failed: false)
        var offset = 0
        do {
            while offset < answer.count {
                let end = min(answer.count, offset + max(1, pieceSize()))
                try parser.consume(UnsafeRawBufferPointer(rebasing: answer[offset..<end])) { address, bytes in
                    precondition(wanted.contains(address), "a fetch answer delivered an object not asked for")
                    precondition((bytes?.count ?? 0) <= ObjectHeader.maxObjectSize)
                    result.deliveries.append((address, bytes))
                }
                offset = end
            }
            try parser.finish()
        } catch {
            result.failed = true
        }
        return result
    }
}
