/// Checks and opens stored objects: address, header, AEAD, decompression, keyed identity.
///
/// Not `Sendable`: each task that reads owns one decoder. The caller resolves the session
/// key named in the header (fetching and unwrapping its session key object) and passes it in.
package final class ObjectDecoder {
    private let hasher = SHA256Hasher()
    private let cipher = AEADCipher()
    private let identityMAC: HMACSHA256?

    /// - Parameter identityKey: when given, every opened object's plaintext is checked
    ///   against its keyed identity as well as its AEAD tag.
    package init(identityKey: SecretBytes?) {
        identityMAC = identityKey.map(HMACSHA256.init(key:))
    }

    /// Throws `ObjectError.addressMismatch` unless `bytes` hash to `address`.
    package func checkAddress(_ bytes: [UInt8], _ address: ObjectAddress) throws {
        guard bytes.count <= ObjectHeader.maxObjectSize else { throw ObjectError.tooLarge(address, bytes.count) }
        let actual = bytes.withUnsafeBytes { ObjectAddress(hasher.hash($0)) }
        guard actual == address else { throw ObjectError.addressMismatch(expected: address, actual: actual) }
    }

    /// Parses the header of an object whose address was checked, and checks its kind.
    package func header(of bytes: [UInt8], address: ObjectAddress, expecting kind: ObjectKind?) throws -> ObjectHeader {
        let header: ObjectHeader
        do { header = try ObjectHeader.parse(bytes) } catch let error as FormatError { throw ObjectError.malformed(address, error) }
        if let kind, header.kind != kind { throw ObjectError.unexpectedKind(address, expected: kind, actual: header.kind) }
        return header
    }

    /// Decrypts and decompresses the body of an object whose address and header were checked.
    /// - Throws: `ObjectError.authenticationFailed`, `.malformed` or `.identityMismatch`.
    package func openBody(_ bytes: [UInt8], header: ObjectHeader, address: ObjectAddress, dataKey: SecretBytes) throws -> [UInt8] {
        precondition(header.kind.isSessionEncrypted)
        let headerSize = header.encodedSize
        let sealedCount = bytes.count - headerSize
        guard sealedCount >= AEADAlgorithm.tagCount else {
            throw ObjectError.malformed(address, .truncated("object body"))
        }
        // Uninitialized: the AEAD writes every byte (or throws, and the array is dropped).
        let payload = try [UInt8](unsafeUninitializedCapacity: sealedCount - AEADAlgorithm.tagCount) { out, initialized in
            try bytes.withUnsafeBytes { raw in
                try header.nonce.withUnsafeBytes { nonce in
                    do {
                        initialized = try cipher.open(
                            header.aead, key: dataKey, nonce: nonce,
                            associatedData: UnsafeRawBufferPointer(rebasing: raw[..<headerSize]),
                            sealed: UnsafeRawBufferPointer(rebasing: raw[headerSize...]), into: UnsafeMutableRawBufferPointer(out),
                            what: "object \(address)")
                    } catch CryptoError.authenticationFailed {
                        throw ObjectError.authenticationFailed(address)
                    }
                }
            }
        }
        let body: [UInt8]
        switch header.compression {
        case .none:
            body = payload
        case .lz4:
            body = try decompress(payload, address: address)
        }
        if let identityMAC {
            let actual = body.withUnsafeBytes {
                ObjectIdentity.compute(kind: header.kind, children: header.children, body: $0, mac: identityMAC)
            }
            guard actual.digest == header.identityField else { throw ObjectError.identityMismatch(address) }
        }
        return body
    }

    private func decompress(_ payload: [UInt8], address: ObjectAddress) throws -> [UInt8] {
        guard payload.count > 4 else { throw ObjectError.malformed(address, .truncated("compressed body")) }
        let size = payload.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        // The claimed size is allocated before LZ4 reads the block: a block can expand at most
        // `LZ4Block.maxExpansion` times, so a larger claim is refused before any allocation.
        guard size <= ObjectHeader.maxObjectSize * 4, size <= (payload.count - 4) * LZ4Block.maxExpansion else {
            throw ObjectError.malformed(address, .invalid("compressed body", "claims \(size) bytes from \(payload.count - 4)"))
        }
        do {
            // Uninitialized: LZ4Block.decompress fills exactly `size` bytes or throws.
            return try [UInt8](unsafeUninitializedCapacity: size) { body, initialized in
                try payload.withUnsafeBytes { src in
                    try LZ4Block.decompress(UnsafeRawBufferPointer(rebasing: src[4...]), into: UnsafeMutableRawBufferPointer(body))
                }
                initialized = size
            }
        } catch let error as FormatError {
            throw ObjectError.malformed(address, error)
        }
    }
}
