/// RFC 3986 percent-encoding, as URLs of the site protocol and S3's signature (SigV4) ask.
package enum PercentEncoding {
    /// `text` with every byte of its UTF-8 but the unreserved characters (letters, digits,
    /// `-`, `.`, `_`, `~`) written as `%XX` (upper-case hex); `/` kept when `keepSlash`.
    package static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
