import SkiffCore
import SkiffSiteProtocol

/// Input: the text of a route parameter or header, tried as every one the site parses: object
/// addresses and tenant ids (hex), `host/file` seal paths, `after=host/sequence` listing
/// cursors, listing limits, and `Range` headers. Whatever parses must be what the site can use
/// safely: store keys made of it valid, ranges ordered.
enum SiteRequestFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        let text = String(decoding: bytes, as: UTF8.self)
        var accepted = false
        if let address = ObjectAddress(hex: text) {
            precondition(address.hex == text.lowercased())
            accepted = true
        }
        if let tenant = TenantID(hex: text) {
            precondition(tenant.hex == text.lowercased())
            accepted = true
        }
        if let slash = text.firstIndex(of: "/") {
            let host = String(text[..<slash]), file = String(text[text.index(after: slash)...])
            if let name = SealName(host: host, fileName: file) {
                precondition(name.host == host && name.fileName == file && name.description == text, "a seal path parses to another name")
                precondition((try? HostName.validate(host)) != nil, "a seal path with an invalid host name parses")
                accepted = true
            }
        }
        if let cursor = SealListCursor.parse(text) {
            precondition((try? HostName.validate(cursor.host)) != nil)
            precondition(SealListCursor.parse(cursor.text) == cursor)
            accepted = true
        }
        if let range = ByteRangeHeader.parse(text) {
            precondition(range.first >= 0 && (range.last ?? range.first) >= range.first)
            precondition(range.end.map { $0 > range.first } ?? true)
            precondition(ByteRangeHeader.parse(range.text) == range)
            accepted = true
        }
        if Int(text) != nil { accepted = true }
        return accepted ? .accepted : .rejected
    }
}
