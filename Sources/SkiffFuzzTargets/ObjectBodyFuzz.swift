import SkiffCore

/// Input: one byte of choices (bits 0-1: kind chunk, content list, tree or snapshot; bit 2:
/// LZ4; bit 3: ChaCha20-Poly1305 instead of AES-256-GCM), one byte of child count (ignored for
/// chunks, which have none), then the payload as stored inside the AEAD (for LZ4: u32 length
/// and the block). The payload is sealed under the fuzz data key, so every mutation gets past
/// the AEAD to decompression and the body parsers, through the same path as `ObjectFuzz`.
enum ObjectBodyFuzz {
    static let kinds: [ObjectKind] = [.chunk, .contentList, .tree, .snapshot]

    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        guard bytes.count >= 2 else { return .rejected }
        let choices = bytes[0]
        let kind = kinds[Int(choices & 3)]
        let childCount = kind == .chunk ? 0 : Int(bytes[1])
        let object: [UInt8]
        do {
            object = try FuzzKeys.sealObject(
                kind: kind, aead: choices & 8 == 0 ? .aes256GCM : .chacha20Poly1305, compression: choices & 4 == 0 ? .none : .lz4,
                children: (0..<childCount).map(FuzzKeys.child), payload: Array(bytes[2...]))
        } catch {
            return .rejected
        }
        return ObjectFuzz.read(object, identityKey: nil)
    }
}
