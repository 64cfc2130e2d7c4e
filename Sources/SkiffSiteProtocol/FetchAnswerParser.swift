import SkiffCore

/// Reads a fetch answer (`ObjectBundle` records, some marked absent) as it arrives, in pieces
/// of any size, and hands over each object as soon as its last byte is in: a restore starts on
/// the first objects while the rest are still on the wire. Each object's bytes are copied once,
/// into the array handed over.
///
/// Checks as it goes: every record is for an address asked for, no object is over
/// `ObjectHeader.maxObjectSize`, at most `ObjectBundle.maxObjects` records; `finish` fails when
/// the answer ends inside a record.
package struct FetchAnswerParser {
    private let wanted: Set<ObjectAddress>
    private var header: [UInt8] = []
    private var current: (address: ObjectAddress, bytes: [UInt8], length: Int)?
    private var records = 0

    package init(wanted: Set<ObjectAddress>) {
        self.wanted = wanted
        header.reserveCapacity(ObjectBundle.framing)
    }

    /// Takes the next piece of the answer; calls `deliver` for each record it completes (nil
    /// bytes: the site does not hold the object).
    /// - Throws: `FormatError` for a record not asked for, too large, or one too many.
    package mutating func consume(_ piece: UnsafeRawBufferPointer, deliver: (ObjectAddress, [UInt8]?) throws -> Void) throws {
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
            guard wanted.contains(address) else { throw FormatError.invalid("fetch answer, record \(records)", "holds \(address.hex), which was not asked for") }
            guard records <= ObjectBundle.maxObjects else { throw FormatError.invalid("fetch answer", "holds at most \(ObjectBundle.maxObjects) objects") }
            if length == Int(ObjectBundle.absentLength) {
                try deliver(address, nil)
                continue
            }
            guard length <= ObjectHeader.maxObjectSize else {
                throw FormatError.invalid("fetch answer, record \(records)", "declares \(length) bytes, over the object limit")
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

    /// The answer ended: fails when it ended inside a record.
    package func finish() throws {
        if let current { throw FormatError.truncated("fetch answer, record \(records) (\(current.address.hex))") }
        if !header.isEmpty { throw FormatError.truncated("fetch answer, record header after record \(records)") }
    }
}
