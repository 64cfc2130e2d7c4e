import Foundation
import SkiffFuzzTargets
import Testing

/// Runs the checked-in corpus of every fuzz target (`Tests/FuzzCorpus/<target>/`: seeds from a
/// real backup, `seed-*`, and inputs that once crashed a target, `crash-*`) through the same
/// function libFuzzer calls. A crasher that crashes again takes the test process down with it.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: FuzzTarget) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0))))
        }
    }

    @Test func everyTargetHasACorpusAndNoOtherFolderIsThere() throws {
        let folders = Set(try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path))
        #expect(folders == Set(FuzzTarget.allCases.map(\.rawValue)))
    }

    /// Seeds must include inputs the parser accepts, so fuzzing starts from its success path
    /// (and a parser that starts refusing real objects fails here); crashers must not crash.
    @Test(arguments: FuzzTarget.allCases)
    func corpusRunsAndSeedsAreAccepted(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(target)
        let seeds = inputs.filter { $0.name.hasPrefix("seed-") }
        #expect(!seeds.isEmpty, "no seeds for \(target.rawValue): run Tools/fuzz.sh --seeds")
        var accepted = 0
        for input in inputs {
            let outcome = input.bytes.withUnsafeBytes { target.run($0) }
            if input.name.hasPrefix("seed-"), outcome == .accepted { accepted += 1 }
        }
        #expect(accepted > 0, "\(target.rawValue): no seed is accepted")
    }
}
