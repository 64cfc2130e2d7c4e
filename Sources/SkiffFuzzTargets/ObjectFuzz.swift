import SkiffCore

/// A stored object read as a restore reads it (docs/FORMAT.md, R1): size and address, header
/// and its canonical encoding, then either the session key envelope (opened with the fuzz
/// tenant's key) or the body (AEAD under `FuzzKeys.dataKey`, LZ4, keyed identity), and the
/// body's parser for its kind.
enum ObjectFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        read(bytes, identityKey: FuzzKeys.identityKey)
    }

    /// The reader's path for `bytes`; `identityKey` nil skips the keyed identity check.
    static func read(_ bytes: [UInt8], identityKey: SecretBytes?) -> FuzzOutcome {
        let address = ObjectAddress(SHA256Hasher.digest(bytes))
        let decoder = ObjectDecoder(identityKey: identityKey)
        do {
            try decoder.checkAddress(bytes, address)
            let header = try decoder.header(of: bytes, address: address, expecting: nil)
            precondition(header.encoded.elementsEqual(bytes.prefix(header.encodedSize)), "an object header re-encodes differently")
            precondition(header.links.count == header.children.count + (header.kind.isSessionEncrypted ? 1 : 0))
            if header.kind == .sessionKey {
                let key = try SessionKeyEnvelope.open(bytes, address: address, with: FuzzKeys.restoreKey.decryptionKey)
                precondition(key.count == AEADAlgorithm.keyCount)
                return .accepted
            }
            let body = try decoder.openBody(bytes, header: header, address: address, dataKey: FuzzKeys.dataKey)
            return NodeFuzz.parse(kind: header.kind, body: body, children: header.children)
        } catch {
            return .rejected
        }
    }
}
