/// Where an object is stored: the SHA-256 of its stored bytes. Anyone can check it.
package struct ObjectAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var digest: Digest256

    package init(_ digest: Digest256) { self.digest = digest }

    package init?(hex: some StringProtocol) {
        guard let digest = Digest256(hex: hex) else { return nil }
        self.digest = digest
    }

    package var hex: String { digest.hex }
    package var description: String { digest.hex }
    /// The first 12 hex digits, for tables and logs.
    package var short: String { String(digest.hex.prefix(12)) }

    package static func < (lhs: ObjectAddress, rhs: ObjectAddress) -> Bool { lhs.digest < rhs.digest }
}

/// A keyed hash of an object's plaintext (HMAC-SHA-256 under the repository identity key).
///
/// Equal plaintext gives an equal identity, so hosts deduplicate by it; without the key it
/// reveals nothing about the content.
package struct ObjectIdentity: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var digest: Digest256

    package init(_ digest: Digest256) { self.digest = digest }

    package init?(hex: some StringProtocol) {
        guard let digest = Digest256(hex: hex) else { return nil }
        self.digest = digest
    }

    package var hex: String { digest.hex }
    package var description: String { digest.hex }

    package static func < (lhs: ObjectIdentity, rhs: ObjectIdentity) -> Bool { lhs.digest < rhs.digest }
}

extension ObjectIdentity {
    /// The bytes MACed before an object's body: kind || u32 child count || children.
    /// Identity = HMAC-SHA-256(identity key, prefix || plaintext body).
    package static func macPrefix(kind: ObjectKind, children: [ObjectAddress]) -> [UInt8] {
        var prefix = ByteWriter(capacity: 5 + 32 * children.count)
        prefix.u8(kind.rawValue)
        prefix.u32(UInt32(children.count))
        for child in children { prefix.digest(child.digest) }
        return prefix.bytes
    }

    /// The identity of `body` under `mac` (keyed with the repository identity key).
    package static func compute(kind: ObjectKind, children: [ObjectAddress], body: UnsafeRawBufferPointer, mac: HMACSHA256) -> ObjectIdentity {
        macPrefix(kind: kind, children: children).withUnsafeBytes { ObjectIdentity(mac.mac($0, body)) }
    }
}
