import Foundation
import SkiffCore
import SkiffGraph
import SkiffRestore
import Testing

/// `--at` and `--between` times: a seal's printed time must select that very seal.
@Suite struct TimeFormatTests {
    @Test func aPrintedTimeParsesBackToTheNanosecond() {
        for nanoseconds: UInt32 in [0, 1, 999_999_999, 123_456_789, 500_000_000] {
            let time = Timestamp(seconds: 1_795_000_000, nanoseconds: nanoseconds)
            #expect(TimeFormat.parse(TimeFormat.iso8601(time)) == time, "\(TimeFormat.iso8601(time))")
        }
    }

    @Test func fractionsAndOffsetsAreExact() {
        #expect(TimeFormat.parse("2026-11-22T14:02:00.5Z") == Timestamp(seconds: 1_795_356_120, nanoseconds: 500_000_000))
        #expect(TimeFormat.parse("2026-11-22T15:02:00.000000001+01:00") == Timestamp(seconds: 1_795_356_120, nanoseconds: 1))
        #expect(TimeFormat.parse("2026-11-22T14:02:00.1234567891Z") == nil, "more than nine digits")
        #expect(TimeFormat.parse("yesterday-ish") == nil)
        #expect(TimeFormat.parse("-2x") == nil)
    }

    @Test func relativeAndLocalForms() throws {
        let now = Date(timeIntervalSince1970: 1_795_356_120)
        #expect(TimeFormat.parse("-2h", now: now) == Timestamp(seconds: 1_795_356_120 - 7200, nanoseconds: 0))
        #expect(TimeFormat.parse("-1.5d", now: now) == Timestamp(seconds: 1_795_356_120 - 129_600, nanoseconds: 0))
        #expect(TimeFormat.parse("now", now: now) == Timestamp(seconds: 1_795_356_120, nanoseconds: 0))
        let local = try #require(TimeFormat.parse("2026-11-22 14:02"))
        let seconds = TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: 1_795_356_120))
        #expect(local == Timestamp(seconds: 1_795_356_120 - Int64(seconds), nanoseconds: 0))
        #expect(TimeFormat.parse("2026-11-22 14:02:00.25")?.nanoseconds == 250_000_000)
    }
}
