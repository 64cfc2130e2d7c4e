import Testing
import SkiffCore
import SkiffTestSupport

@Suite struct SealPlausibilityTests {
    static let now = Timestamp(seconds: 2_000_000_000, nanoseconds: 0)

    static func seal(_ seconds: Int64, counts: SealCounts = SealCounts(), previous: Seal? = nil, host: HostKey) throws -> Seal {
        var seal = try Seal.make(hostKey: host, previous: previous, time: Timestamp(seconds: seconds, nanoseconds: 0),
                                 root: SealTests.root(1), counts: counts)
        seal.time = Timestamp(seconds: seconds, nanoseconds: 0)
        return seal
    }

    @Test func timesCountsAndOrderAreChecked() throws {
        let host = try TestKeys.host(of: try TestKeys.tenant())
        let first = try Self.seal(1_999_999_000, host: host)
        #expect(SealPlausibility.problem(first, previousTime: nil, now: Self.now) == nil)
        #expect(SealPlausibility.problem(try Self.seal(2_000_000_600, host: host), previousTime: nil, now: Self.now) == nil, "600 s of skew is allowed")
        #expect(SealPlausibility.problem(try Self.seal(2_000_000_601, host: host), previousTime: nil, now: Self.now)?.contains("ahead") == true)
        #expect(SealPlausibility.problem(try Self.seal(7_258_118_400, host: host), previousTime: nil, now: Self.now) != nil, "year 2200")
        #expect(SealPlausibility.problem(try Self.seal(-1, host: host), previousTime: nil, now: Self.now)?.contains("1970") == true)
        let second = try Self.seal(1_999_998_000, previous: first, host: host)
        #expect(SealPlausibility.problem(second, previousTime: first.time, now: Self.now)?.contains("before") == true)
        #expect(SealPlausibility.problem(second, previousTime: Timestamp(seconds: 1_999_998_000, nanoseconds: 0), now: Self.now) == nil,
                "equal times are in order")
        for counts in [SealCounts(files: 1 << 41), SealCounts(directories: 1 << 62), SealCounts(logicalBytes: 1 << 61), SealCounts(addedObjects: UInt64.max),
                       SealCounts(addedBytes: 1 << 63)] {
            #expect(SealPlausibility.problem(try Self.seal(1_999_999_000, counts: counts, host: host), previousTime: nil, now: Self.now) != nil, "\(counts)")
        }
        #expect(SealPlausibility.problem(try Self.seal(1_999_999_000, counts: SealCounts(files: 1 << 40, logicalBytes: 1 << 60), host: host),
                                         previousTime: nil, now: Self.now) == nil, "the limits themselves are plausible")
    }

    @Test func aHostNeverSealsBackInTime() throws {
        let host = try TestKeys.host(of: try TestKeys.tenant())
        let first = try Seal.make(hostKey: host, previous: nil, time: Timestamp(seconds: 5000, nanoseconds: 0), root: SealTests.root(1), counts: SealCounts())
        let second = try Seal.make(hostKey: host, previous: first, time: Timestamp(seconds: 4000, nanoseconds: 0), root: SealTests.root(2), counts: SealCounts())
        #expect(second.time == first.time, "a clock set back does not make the chain go back")
        try second.verifySignature()
    }

    @Test func sizesParseAndPrint() {
        #expect(ByteCount.parse("500G") == 500 << 30)
        #expect(ByteCount.parse("10GiB") == 10 << 30)
        #expect(ByteCount.parse("64 M") == 64 << 20)
        #expect(ByteCount.parse("1.5K") == 1536)
        #expect(ByteCount.parse("4096") == 4096 && ByteCount.parse("4096B") == 4096)
        #expect(ByteCount.parse("-1G") == nil && ByteCount.parse("lots") == nil && ByteCount.parse("99999999P") == nil)
        #expect(ByteCount.text(1023) == "1023 B" && ByteCount.text(1536) == "1.5 KiB" && ByteCount.text(10 << 30) == "10.0 GiB")
    }
}
