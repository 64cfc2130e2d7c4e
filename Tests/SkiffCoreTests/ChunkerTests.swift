import Testing
@testable import SkiffCore

@Suite struct ChunkerTests {
    static let parameters = ChunkerParameters(minSize: 2048, averageSize: 8192, maxSize: 32768)

    static func chunker(key: [UInt8] = [UInt8](repeating: 7, count: 32), parameters: ChunkerParameters = parameters) throws -> ContentDefinedChunker {
        try ContentDefinedChunker(parameters: parameters, gear: GearTable(chunkerKey: SecretBytes(key)))
    }

    static func data(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Cuts `data` the way a file reader does: in windows of `window` bytes, carrying the rest.
    static func cut(_ data: [UInt8], with chunker: ContentDefinedChunker, window: Int) -> [Int] {
        var lengths: [Int] = []
        var start = 0
        var end = min(window, data.count)
        data.withUnsafeBytes { raw in
            while start < data.count {
                let isFinal = end == data.count
                guard let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[start..<end]), isFinal: isFinal) else {
                    end = min(end + window, data.count)
                    continue
                }
                lengths.append(length)
                start += length
                end = min(max(end, start + 1), data.count)
            }
        }
        return lengths
    }

    @Test func chunksRespectMinimumAndMaximumAndCoverTheInput() throws {
        let data = Self.data(2 << 20, seed: 1)
        let lengths = Self.cut(data, with: try Self.chunker(), window: 1 << 20)
        #expect(lengths.reduce(0, +) == data.count)
        #expect(lengths.dropLast().allSatisfy { $0 >= Self.parameters.minSize && $0 <= Self.parameters.maxSize })
        let average = Double(data.count) / Double(lengths.count)
        #expect(average > 5000 && average < 14000, "average chunk \(average) should be near 8 KiB")
    }

    @Test func boundariesDoNotDependOnReadWindows() throws {
        let data = Self.data(1 << 20, seed: 2)
        let chunker = try Self.chunker()
        let reference = Self.cut(data, with: chunker, window: data.count)
        for window in [40_000, 65_536, 100_003] {
            #expect(Self.cut(data, with: chunker, window: window) == reference, "window \(window)")
        }
    }

    @Test func aDifferentChunkerKeyGivesDifferentBoundaries() throws {
        let data = Self.data(1 << 20, seed: 3)
        let a = Self.cut(data, with: try Self.chunker(key: [UInt8](repeating: 1, count: 32)), window: data.count)
        let b = Self.cut(data, with: try Self.chunker(key: [UInt8](repeating: 2, count: 32)), window: data.count)
        #expect(a != b, "boundaries must depend on the secret key, or they fingerprint content")
    }

    @Test func anInsertionOnlyDisturbsNearbyChunks() throws {
        let data = Self.data(1 << 20, seed: 4)
        var edited = data
        edited.insert(contentsOf: [1, 2, 3, 4, 5], at: 300_000)
        let chunker = try Self.chunker()
        let before = Self.cut(data, with: chunker, window: data.count)
        let after = Self.cut(edited, with: chunker, window: edited.count)
        func chunks(_ bytes: [UInt8], _ lengths: [Int]) -> Set<[UInt8]> {
            var set = Set<[UInt8]>()
            var offset = 0
            for length in lengths {
                set.insert(Array(bytes[offset..<offset + length]))
                offset += length
            }
            return set
        }
        let changed = chunks(edited, after).subtracting(chunks(data, before))
        #expect(changed.count <= 3, "an insertion changed \(changed.count) chunks")
    }

    @Test func inputShorterThanTheMinimumIsOneChunkWhenFinal() throws {
        let chunker = try Self.chunker()
        let small = Self.data(100, seed: 5)
        small.withUnsafeBytes { raw in
            #expect(chunker.nextChunkLength(in: raw, isFinal: true) == 100)
            #expect(chunker.nextChunkLength(in: raw, isFinal: false) == nil)
        }
    }

    @Test func invalidParametersAreRejected() {
        #expect(throws: FormatError.self) { try ChunkerParameters(minSize: 100, averageSize: 1000, maxSize: 4000).validate() }
        #expect(throws: FormatError.self) { try ChunkerParameters(minSize: 8192, averageSize: 4096, maxSize: 16384).validate() }
        #expect(throws: FormatError.self) { try ChunkerParameters(minSize: 1024, averageSize: 4096, maxSize: 2048).validate() }
    }

    /// Found by fuzzing key files: an average below 64 bytes (or above 64 MiB) made `validate`
    /// build a range whose bounds were reversed, a trap, when reading a tenant public key,
    /// host key, restore key or a store's config.
    @Test(arguments: [(64, 1, 64), (64, 32, 64), (64, 1 << 27, 1 << 27), (64, 1 << 40, 1 << 41), (64, Int.min, 64), (-1, 4096, 8192), (64, 4096, Int.max)])
    func parametersFromAnyIntegersAreRefusedWithoutTrapping(_ sizes: (Int, Int, Int)) {
        #expect(throws: FormatError.self) { try ChunkerParameters(minSize: sizes.0, averageSize: sizes.1, maxSize: sizes.2).validate() }
    }

    @Test func theExtremesOfTheValidRangeAreAccepted() throws {
        try ChunkerParameters(minSize: 64, averageSize: 256, maxSize: 256).validate()
        try ChunkerParameters(minSize: 16 << 20, averageSize: 16 << 20, maxSize: 64 << 20).validate()
    }

    @Test func fixedPolicyCutsAlignedPieces() {
        let policy = ChunkingPolicy.fixed(size: 4096)
        let data = [UInt8](repeating: 9, count: 10_000)
        data.withUnsafeBytes { raw in
            #expect(policy.nextChunkLength(in: raw, isFinal: false) == 4096)
            #expect(policy.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[8192...]), isFinal: false) == nil)
            #expect(policy.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[8192...]), isFinal: true) == 10_000 - 8192)
        }
    }
}
