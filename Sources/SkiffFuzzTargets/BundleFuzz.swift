import SkiffCore
import SkiffSiteProtocol

/// Input: a `POST …/objects` body. It is read as the site reads it (`ObjectBundleParser.upload`,
/// in pieces of a size taken from the input, with its length declared), the records are checked
/// to tile the body exactly, and each object goes through the site's own check (size, address,
/// header).
enum BundleFuzz {
    static func run(_ body: UnsafeRawBufferPointer) -> FuzzOutcome {
        var parser = ObjectBundleParser.upload(declaredLength: body.count)
        var records: [(address: ObjectAddress, bytes: [UInt8])] = []
        let pieceSize = 1 + Int(body.first ?? 0) * 97
        do {
            for start in stride(from: 0, to: body.count, by: pieceSize) {
                try parser.consume(UnsafeRawBufferPointer(rebasing: body[start..<min(start + pieceSize, body.count)])) { address, bytes in
                    guard let bytes else { preconditionFailure("an upload delivered an absent record") }
                    records.append((address, bytes))
                }
            }
            try parser.finish()
        } catch {
            return .rejected
        }
        precondition(records.count <= ObjectBundle.maxObjects)
        let decoder = ObjectDecoder(identityKey: nil)
        var total = 0
        for record in records {
            precondition(record.bytes.count <= ObjectHeader.maxObjectSize)
            total += ObjectBundle.framing + record.bytes.count
            do {
                try decoder.checkAddress(record.bytes, record.address)
                _ = try decoder.header(of: record.bytes, address: record.address, expecting: nil)
            } catch {
                continue
            }
        }
        precondition(total == body.count, "bundle records do not tile the body")
        return .accepted
    }
}
