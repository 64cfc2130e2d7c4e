import Testing
@testable import SkiffRestore

@Suite struct RemoteTuningTests {
    @Test func raisesWhatItTunes() {
        var options = RestoreOptions()
        options.parallelFiles = 2
        RemoteTuning().apply(to: &options)
        #expect(options.parallelFiles == 8 && options.readAheadBytes == 32 << 20)

        var comparison = TreeDiffer.Options()
        RemoteTuning().apply(to: &comparison)
        #expect(comparison.readAheadBytes == 32 << 20)
    }

    @Test func keepsWhatIsAlreadyHigher() {
        var options = RestoreOptions()
        options.parallelFiles = 64
        options.readAheadBytes = 64 << 20
        RemoteTuning().apply(to: &options)
        #expect(options.parallelFiles == 64 && options.readAheadBytes == 64 << 20)
    }

    @Test func readsFurtherAheadTheFartherTheSite() {
        #expect(RemoteTuning(roundTrip: .zero).readAheadBytes == 32 << 20)
        #expect(RemoteTuning(roundTrip: .milliseconds(10)).readAheadBytes == 32 << 20)
        // 50 ms at 1 GiB/s: a twentieth of a GiB.
        #expect(RemoteTuning(roundTrip: .milliseconds(50)).readAheadBytes == (1 << 30) / 20)
        #expect(RemoteTuning(roundTrip: .milliseconds(150)).readAheadBytes == RemoteTuning.maximumReadAheadBytes)
        #expect(RemoteTuning(roundTrip: .seconds(30)).readAheadBytes == RemoteTuning.maximumReadAheadBytes)
    }
}
