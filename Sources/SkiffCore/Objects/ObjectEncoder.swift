/// Turns plaintext into stored objects: keyed identity, optional LZ4, AEAD, address.
///
/// Not `Sendable`: it owns reusable libcrypto contexts and a scratch buffer, so each task
/// that encodes owns one encoder. Works on contiguous buffers; the only allocation per
/// object is the returned byte array.
package final class ObjectEncoder {
    package let session: WriteSession
    private let mac: HMACSHA256
    private let cipher = AEADCipher()
    private let hasher = SHA256Hasher()
    private var scratch: UnsafeMutableRawBufferPointer

    /// Compression is kept only when it saves at least 1/32 of the body.
    package static let minimumSavingDivisor = 32

    package init(session: WriteSession) {
        self.session = session
        mac = HMACSHA256(key: session.identityKey)
        scratch = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// HMAC-SHA-256(identity key, kind || u32 child count || children || body).
    package func identity(kind: ObjectKind, children: [ObjectAddress], body: UnsafeRawBufferPointer) -> ObjectIdentity {
        ObjectIdentity.compute(kind: kind, children: children, body: body, mac: mac)
    }

    private func ensureScratch(_ count: Int) {
        guard scratch.count < count else { return }
        scratch.deallocate()
        scratch = .allocate(byteCount: count, alignment: 16)
    }

    /// Encodes one object.
    ///
    /// - Parameters:
    ///   - identity: from `identity(kind:children:body:)` on the same inputs (callers compute
    ///     it first to skip objects that already exist).
    ///   - compression: `.lz4` tries LZ4 and keeps it only when it helps.
    package func encode(
        kind: ObjectKind, children: [ObjectAddress], body: UnsafeRawBufferPointer,
        identity: ObjectIdentity, compression: CompressionAlgorithm
    ) throws -> EncodedObject {
        precondition(kind.isSessionEncrypted, "session key objects are made by SessionKeyEnvelope")
        var payload = body
        var used = CompressionAlgorithm.none
        if compression == .lz4, body.count >= 64, body.count <= LZ4Block.maxInputSize {
            // Room for a length prefix and a result at least 1/32 smaller than the body.
            let budget = body.count - body.count / Self.minimumSavingDivisor - 4
            ensureScratch(4 + LZ4Block.compressBound(body.count))
            if budget > 0, let written = LZ4Block.compress(body, into: UnsafeMutableRawBufferPointer(rebasing: scratch[4..<4 + budget])) {
                scratch.storeBytes(of: UInt32(body.count).littleEndian, toByteOffset: 0, as: UInt32.self)
                payload = UnsafeRawBufferPointer(rebasing: scratch[0..<4 + written])
                used = .lz4
            }
        }
        let header = ObjectHeader(
            kind: kind, aead: session.config.aead, compression: used, children: children,
            keyField: session.keyAddress.digest, identityField: identity.digest,
            nonce: SecureRandom.bytes(AEADAlgorithm.nonceCount))
        let headerSize = header.encodedSize
        let total = headerSize + payload.count + AEADAlgorithm.tagCount
        guard total <= ObjectHeader.maxObjectSize else {
            throw FormatError.invalid("\(kind)", "encoded object of \(total) bytes exceeds the object size limit")
        }
        var headerWriter = ByteWriter(capacity: headerSize)
        header.write(into: &headerWriter)
        let headerBytes = headerWriter.bytes
        let bytes = try [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            headerBytes.withUnsafeBytes { raw.copyMemory(from: $0) }
            try header.nonce.withUnsafeBytes { nonce in
                _ = try cipher.seal(
                    session.config.aead, key: session.dataKey, nonce: nonce,
                    associatedData: UnsafeRawBufferPointer(rebasing: raw[..<headerSize]),
                    plaintext: payload, into: UnsafeMutableRawBufferPointer(rebasing: raw[headerSize...]))
            }
            initialized = total
        }
        let address = bytes.withUnsafeBytes { ObjectAddress(hasher.hash($0)) }
        return EncodedObject(address: address, kind: kind, identity: identity, bytes: bytes)
    }

    /// Identity and encoding in one call, for objects that are always written.
    package func encode(kind: ObjectKind, children: [ObjectAddress], body: [UInt8], compression: CompressionAlgorithm) throws -> EncodedObject {
        try body.withUnsafeBytes { raw in
            try encode(kind: kind, children: children, body: raw,
                       identity: identity(kind: kind, children: children, body: raw), compression: compression)
        }
    }
}
