/// A tenant, which is also the id of its repository: 16 random bytes, shown in hex.
package struct TenantID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) throws {
        guard bytes.count == 16 else { throw FormatError.invalid("tenant id", "must be 16 bytes") }
        self.bytes = bytes
    }

    package init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32, let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    package static func generate() -> TenantID { try! TenantID(bytes: SecureRandom.bytes(16)) }

    package var hex: String { Hex.encode(bytes) }
    package var description: String { hex }

    package static func < (lhs: TenantID, rhs: TenantID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    package init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = TenantID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a 32-digit hex tenant id"))
        }
        self = id
    }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
