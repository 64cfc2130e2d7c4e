import SkiffCore

/// The body of `POST …/objects` (docs/PROTOCOL.md): several objects in one request, so
/// shipping many small objects does not cost one HTTP exchange each.
///
/// Layout, repeated until the body ends: the object's address (32 bytes), its length
/// (4 bytes, big-endian), its bytes. No header, no padding; an empty body is an empty bundle.
package enum ObjectBundle {
    package static let contentType = "application/vnd.skiff.object-bundle"
    /// Largest accepted bundle body.
    package static let maxBodySize = 32 << 20
    /// Most objects in one bundle.
    package static let maxObjects = 4096
    /// Bytes of framing per object.
    package static let framing = 36

    /// Whether an object of `size` bytes still joins a bundle that holds `count` records
    /// totalling `bytes` (framing included), for a request of about `targetBytes`. An empty
    /// bundle takes any object; a full one (`maxObjects`) none.
    package static func accepts(_ size: Int, count: Int, bytes: Int, targetBytes: Int) -> Bool {
        count == 0 || (count < maxObjects && bytes + framing + size <= targetBytes)
    }

    /// A record's framing: the address, then the length (nil: the fetch answer's "absent").
    package static func recordHeader(_ address: ObjectAddress, length: Int?) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: framing)
        header.withUnsafeMutableBytes { out in
            address.digest.withUnsafeBytes { out.copyMemory(from: $0) }
            out.storeBytes(of: (length.map(UInt32.init) ?? absentLength).bigEndian, toByteOffset: 32, as: UInt32.self)
        }
        return header
    }

    /// Reads a record's framing (`framing` bytes): the address and the declared length, which
    /// is `absentLength` in a fetch answer's "not here" record.
    package static func readHeader(_ header: UnsafeRawBufferPointer) -> (address: ObjectAddress, length: Int) {
        (ObjectAddress(Digest256(UnsafeRawBufferPointer(rebasing: header[0..<32]))), header[32..<36].reduce(0) { $0 << 8 | Int($1) })
    }

    /// Appends one object's record to `body`.
    package static func append(_ address: ObjectAddress, _ bytes: [UInt8], to body: inout [UInt8]) {
        body.append(contentsOf: recordHeader(address, length: bytes.count))
        body.append(contentsOf: bytes)
    }

    /// In a fetch answer, the length that says "not here" (no bytes follow).
    package static let absentLength: UInt32 = 0xFFFF_FFFF
}

/// `POST …/fetch` body: the objects wanted, in the order the answer lists them.
package struct FetchQuery: Codable, Sendable {
    package var addresses: [String]
    package init(addresses: [String]) { self.addresses = addresses }
}

/// `POST …/objects` answer.
package struct BundleAcceptance: Codable, Sendable, Equatable {
    /// Objects newly stored.
    package var stored: Int
    /// Objects the site already held.
    package var present: Int

    package init(stored: Int, present: Int) {
        self.stored = stored
        self.present = present
    }
}
