import SkiffCore

/// Reads `ObjectBundle` records as they arrive, in pieces of any size, and hands over each
/// object as soon as its last byte is in: a restore starts on the first objects of a fetch
/// answer while the rest are still on the wire, and a site stores a bundle's objects without
/// first holding the whole body. Each object's bytes are copied once, into the array handed
/// over, which is never reserved larger than what the body can still bring.
///
/// Checks as it goes: no object over `ObjectHeader.maxObjectSize`, at most
/// `ObjectBundle.maxObjects` records; for a fetch answer, every record is for an address asked
/// for; for an upload, no record is marked absent and none declares more bytes than are left
/// of the declared body. `finish` fails when the bundle ends inside a record.
package struct ObjectBundleParser {
    private let wanted: Set<ObjectAddress>?
    private let allowsAbsent: Bool
    /// Bytes of the body not consumed yet, when its length is known.
    private var remaining: Int?
    private let context: String
    private var header: [UInt8] = []
    private var current: (address: ObjectAddress, bytes: [UInt8], length: Int)?
    private var records = 0

    private init(wanted: Set<ObjectAddress>?, allowsAbsent: Bool, length: Int?, context: String) {
        self.wanted = wanted
        self.allowsAbsent = allowsAbsent
        remaining = length
        self.context = context
        header.reserveCapacity(ObjectBundle.framing)
    }

    /// A parser of a `POST …/fetch` answer to a request for `wanted`.
    package static func fetchAnswer(wanted: Set<ObjectAddress>) -> ObjectBundleParser {
        ObjectBundleParser(wanted: wanted, allowsAbsent: true, length: nil, context: "fetch answer")
    }

    /// A parser of a `POST …/objects` body of `declaredLength` bytes (nil: not declared).
    package static func upload(declaredLength: Int?) -> ObjectBundleParser {
        ObjectBundleParser(wanted: nil, allowsAbsent: false, length: declaredLength, context: "object bundle")
    }

    /// Takes the next piece; calls `deliver` for each record it completes (nil bytes: the site
    /// does not hold the object, in a fetch answer).
    /// - Throws: `FormatError` for a record not asked for, absent where it may not be, too
    ///   large, one too many, or past the declared length.
    package mutating func consume(_ piece: UnsafeRawBufferPointer, deliver: (ObjectAddress, [UInt8]?) throws -> Void) throws {
        if let remaining {
            guard piece.count <= remaining else { throw FormatError.invalid(context, "is longer than its declared length") }
            self.remaining = remaining - piece.count
        }
        var offset = 0
        while offset < piece.count {
            if var record = current {
                current = nil
                let take = min(record.length - record.bytes.count, piece.count - offset)
                record.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[offset..<offset + take]))
                offset += take
                if record.bytes.count == record.length {
                    try deliver(record.address, record.bytes)
                } else {
                    current = record
                }
                continue
            }
            let take = min(ObjectBundle.framing - header.count, piece.count - offset)
            header.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[offset..<offset + take]))
            offset += take
            guard header.count == ObjectBundle.framing else { continue }
            let (address, length) = header.withUnsafeBytes { ObjectBundle.readHeader($0) }
            header.removeAll(keepingCapacity: true)
            records += 1
            if let wanted, !wanted.contains(address) {
                throw FormatError.invalid("\(context), record \(records)", "holds \(address.hex), which was not asked for")
            }
            guard records <= ObjectBundle.maxObjects else { throw FormatError.invalid(context, "holds at most \(ObjectBundle.maxObjects) objects") }
            if length == Int(ObjectBundle.absentLength) {
                guard allowsAbsent else { throw FormatError.invalid("\(context), record \(records)", "is marked absent") }
                try deliver(address, nil)
                continue
            }
            guard length <= ObjectHeader.maxObjectSize else {
                throw FormatError.invalid("\(context), record \(records)", "declares \(length) bytes, over the object limit")
            }
            let unread = piece.count - offset + (remaining ?? 0)
            if remaining != nil, length > unread {
                throw FormatError.truncated("\(context), record \(records) (\(address.hex)) declares \(length) bytes; the body has \(unread) left")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            if length == 0 {
                try deliver(address, bytes)
            } else {
                current = (address, bytes, length)
            }
        }
    }

    /// The bundle ended: fails when it ended inside a record.
    package func finish() throws {
        if let current { throw FormatError.truncated("\(context), record \(records) (\(current.address.hex))") }
        if !header.isEmpty { throw FormatError.truncated("\(context), record header after record \(records)") }
    }
}
