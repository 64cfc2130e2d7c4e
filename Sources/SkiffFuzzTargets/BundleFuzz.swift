import SkiffCore
import SkiffSiteProtocol

/// Input: a `POST …/objects` body. It is split as the site splits it, the records are checked
/// to tile the body exactly, and each object goes through the site's own check (size, address,
/// header).
enum BundleFuzz {
    static func run(_ body: UnsafeRawBufferPointer) -> FuzzOutcome {
        let records: [(address: ObjectAddress, range: Range<Int>)]
        do { records = try ObjectBundle.records(body) } catch { return .rejected }
        precondition(records.count <= ObjectBundle.maxObjects)
        var offset = 0
        let decoder = ObjectDecoder(identityKey: nil)
        for record in records {
            precondition(record.range.lowerBound == offset + ObjectBundle.framing, "bundle records do not tile the body")
            precondition(record.range.count <= ObjectHeader.maxObjectSize)
            offset = record.range.upperBound
            let bytes = Array(body[record.range])
            do {
                try decoder.checkAddress(bytes, record.address)
                _ = try decoder.header(of: bytes, address: record.address, expecting: nil)
            } catch {
                continue
            }
        }
        precondition(offset == body.count, "bundle records do not reach the end of the body")
        return .accepted
    }
}
