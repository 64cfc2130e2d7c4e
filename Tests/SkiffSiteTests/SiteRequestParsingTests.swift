import SkiffSiteProtocol
import Testing

/// The site's pure request parsing: `Range` headers and seal listing cursors.
@Suite struct SiteRequestParsingTests {
    @Test func singleRangesAreRead() {
        #expect(ByteRangeHeader.parse("bytes=0-99") == ByteRangeHeader(first: 0, last: 99))
        #expect(ByteRangeHeader.parse("bytes=0-0")?.end == 1)
        #expect(ByteRangeHeader.parse("bytes=4096-") == ByteRangeHeader(first: 4096, last: nil))
        #expect(ByteRangeHeader.parse("bytes=4096-")?.end == nil)
        #expect(ByteRangeHeader(first: 7, last: 9).text == "bytes=7-9")
        #expect(ByteRangeHeader(first: 7, last: nil).text == "bytes=7-")
    }

    /// "bytes=0-" stays open-ended: the caller fits it to the value's size, nothing here
    /// turns it into a length to allocate.
    @Test func openEndedRangesHaveNoEnd() {
        let range = ByteRangeHeader.parse("bytes=0-")
        #expect(range?.last == nil && range?.end == nil)
    }

    /// `last + 1` overflowed (a trap, so a crash of the site) for "bytes=0-9223372036854775807".
    @Test func theLargestLastByteDoesNotOverflow() {
        let range = ByteRangeHeader.parse("bytes=0-\(Int.max)")
        #expect(range?.last == Int.max)
        #expect(range?.end == Int.max)
    }

    @Test(arguments: ["", "bytes=", "bytes=-", "bytes=-5", "bytes=5-4", "bytes=0-1,3-4", "bytes=0-1-2", "bytes=+1-2", "bytes= 1-2",
                      "bytes=1 -2", "bytes=x-", "items=0-1", "bytes=0-99999999999999999999", "bytes=99999999999999999999-", "BYTES=0-1"])
    func otherHeadersAreRefused(_ value: String) {
        #expect(ByteRangeHeader.parse(value) == nil)
    }

    @Test func cursorsAreRead() {
        #expect(SealListCursor.parse("web1/7") == SealListCursor(host: "web1", sequence: 7))
        #expect(SealListCursor.parse("db-2.example/18446744073709551615")?.sequence == UInt64.max)
        #expect(SealListCursor(host: "web1", sequence: 7).text == "web1/7")
    }

    @Test(arguments: ["", "web1", "web1/", "/7", "web1//7", "web1/7/8", "../7", "web1/+7", "web1/-0", "web1/0x7", "web1/18446744073709551616", "we b1/7"])
    func otherCursorsAreRefused(_ value: String) {
        #expect(SealListCursor.parse(value) == nil)
    }
}
