/// The clear part of a stored object, readable and checkable without any key.
///
/// Layout (all integers little-endian; docs/FORMAT.md, "Objects"):
///
///     0   4   magic "SKFO"
///     4   1   format version (1)
///     5   1   kind
///     6   1   hash algorithm
///     7   1   AEAD algorithm
///     8   1   compression
///     9   3   reserved, zero
///     12  4   child count N
///     16  32N child addresses
///     ..  32  key field: session key object address (encrypted kinds) or
///             recipient key id (session-key objects)
///     ..  32  identity field: keyed identity (encrypted kinds) or ephemeral
///             X25519 public key (session-key objects)
///     ..  12  nonce
///     ..      ciphertext, then the 16-byte AEAD tag
///
/// Everything before the ciphertext is the AEAD's associated data, so the kind, identity,
/// children and key reference are all bound to the encrypted body.
package struct ObjectHeader: Equatable, Sendable {
    package static let magic: [UInt8] = Array("SKFO".utf8)
    package static let formatVersion: UInt8 = 1
    package static let fixedPrefixSize = 16
    /// Objects larger than this are rejected by readers and sites.
    package static let maxObjectSize = 24 << 20
    /// Bound on children, so a hostile header cannot demand a huge allocation.
    package static let maxChildren = 1 << 16

    package var kind: ObjectKind
    package var hashAlgorithm: HashAlgorithm
    package var aead: AEADAlgorithm
    package var compression: CompressionAlgorithm
    package var children: [ObjectAddress]
    package var keyField: Digest256
    package var identityField: Digest256
    package var nonce: [UInt8]

    package init(
        kind: ObjectKind, hashAlgorithm: HashAlgorithm = .sha256, aead: AEADAlgorithm,
        compression: CompressionAlgorithm, children: [ObjectAddress], keyField: Digest256,
        identityField: Digest256, nonce: [UInt8]
    ) {
        self.kind = kind
        self.hashAlgorithm = hashAlgorithm
        self.aead = aead
        self.compression = compression
        self.children = children
        self.keyField = keyField
        self.identityField = identityField
        self.nonce = nonce
    }

    /// Size of the header for `childCount` children.
    package static func encodedSize(childCount: Int) -> Int {
        fixedPrefixSize + 32 * childCount + 32 + 32 + AEADAlgorithm.nonceCount
    }

    package var encodedSize: Int { Self.encodedSize(childCount: children.count) }

    /// For encrypted kinds, the session key object this one is encrypted under.
    package var sessionKeyAddress: ObjectAddress? {
        kind.isSessionEncrypted ? ObjectAddress(keyField) : nil
    }

    package var identity: ObjectIdentity? {
        kind.isSessionEncrypted ? ObjectIdentity(identityField) : nil
    }

    /// Every object this one links to in the Merkle DAG: its children and, for encrypted
    /// kinds, its session key object. Garbage collection and audits follow these.
    package var links: [ObjectAddress] {
        if let key = sessionKeyAddress { return children + [key] }
        return children
    }

    package func write(into writer: inout ByteWriter) {
        writer.raw(Self.magic)
        writer.u8(Self.formatVersion)
        writer.u8(kind.rawValue)
        writer.u8(hashAlgorithm.rawValue)
        writer.u8(aead.rawValue)
        writer.u8(compression.rawValue)
        writer.raw([0, 0, 0])
        writer.u32(UInt32(children.count))
        for child in children { writer.digest(child.digest) }
        writer.digest(keyField)
        writer.digest(identityField)
        writer.raw(nonce)
    }

    package var encoded: [UInt8] {
        var writer = ByteWriter(capacity: encodedSize)
        write(into: &writer)
        return writer.bytes
    }

    /// Parses the header at the start of `bytes`; the body starts at `encodedSize`.
    /// Checks structure only: the address and the AEAD are checked by `ObjectDecoder`.
    package static func parse(_ bytes: [UInt8]) throws -> ObjectHeader {
        var reader = ByteReader(bytes, context: "object header")
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("object header", "bad magic") }
        let version = try reader.u8()
        guard version == formatVersion else { throw FormatError.unsupported("object header", "format version \(version)") }
        let kindByte = try reader.u8()
        guard let kind = ObjectKind(rawValue: kindByte) else { throw FormatError.unsupported("object header", "kind \(kindByte)") }
        let hashByte = try reader.u8()
        guard let hash = HashAlgorithm(rawValue: hashByte) else { throw FormatError.unsupported("object header", "hash algorithm \(hashByte)") }
        let aeadByte = try reader.u8()
        guard let aead = AEADAlgorithm(rawValue: aeadByte) else { throw FormatError.unsupported("object header", "AEAD algorithm \(aeadByte)") }
        let compressionByte = try reader.u8()
        guard let compression = CompressionAlgorithm(rawValue: compressionByte) else {
            throw FormatError.unsupported("object header", "compression \(compressionByte)")
        }
        guard try reader.raw(3).allSatisfy({ $0 == 0 }) else { throw FormatError.invalid("object header", "reserved bytes not zero") }
        let childCount = Int(try reader.u32())
        guard childCount <= maxChildren else { throw FormatError.invalid("object header", "\(childCount) children exceed the limit") }
        guard kind != .sessionKey || childCount == 0 else { throw FormatError.invalid("object header", "a session key object has children") }
        guard kind != .chunk || childCount == 0 else { throw FormatError.invalid("object header", "a chunk has children") }
        guard reader.remaining >= 32 * childCount + 64 + AEADAlgorithm.nonceCount + AEADAlgorithm.tagCount else {
            throw FormatError.truncated("object header")
        }
        var children: [ObjectAddress] = []
        children.reserveCapacity(childCount)
        for _ in 0..<childCount { children.append(ObjectAddress(try reader.digest())) }
        let keyField = try reader.digest()
        let identityField = try reader.digest()
        let nonce = Array(try reader.raw(AEADAlgorithm.nonceCount))
        return ObjectHeader(
            kind: kind, hashAlgorithm: hash, aead: aead, compression: compression, children: children,
            keyField: keyField, identityField: identityField, nonce: nonce)
    }
}
