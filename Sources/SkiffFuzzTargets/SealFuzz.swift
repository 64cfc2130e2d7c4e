import SkiffCore

/// Input: a seal as a site receives it (`PUT …/seals`) or a reader lists it. A seal that
/// decodes must re-encode to the same bytes (its hash names it), name itself in a form that
/// parses back to the same name, and survive the signature checks.
enum SealFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        let seal: Seal
        do { seal = try Seal.decode(bytes) } catch { return .rejected }
        precondition(seal.encoded == bytes, "a seal re-encodes differently")
        precondition(seal.hash == SHA256Hasher.digest(bytes))
        let name = seal.name
        precondition(SealName(host: name.host, fileName: name.fileName) == name, "a seal's name does not parse back")
        _ = try? seal.verifySignature()
        _ = try? seal.verify(by: FuzzKeys.restoreKey.publicKey)
        return .accepted
    }
}
