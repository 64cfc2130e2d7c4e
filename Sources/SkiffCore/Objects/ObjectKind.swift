/// What an object holds, by the identifier written into it and bound into its AEAD.
/// Identifiers are never reused (docs/FORMAT.md).
package enum ObjectKind: UInt8, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// A piece of a file's content.
    case chunk = 1
    /// A node of a file's content list: the chunks (and holes) of a large file, in order.
    case contentList = 2
    /// A node of a directory: its entries with their metadata.
    case tree = 3
    /// The root of a snapshot: what was backed up, when, and the top tree.
    case snapshot = 4
    /// A backup session's data key, wrapped to the tenant's X25519 public key.
    case sessionKey = 5

    package var name: String {
        switch self {
        case .chunk: return "chunk"
        case .contentList: return "content-list"
        case .tree: return "tree"
        case .snapshot: return "snapshot"
        case .sessionKey: return "session-key"
        }
    }

    package var description: String { name }

    /// Kinds whose body is encrypted under a session key named in the header.
    package var isSessionEncrypted: Bool { self != .sessionKey }
}

/// The hash used for addresses and identities. Identifiers are never reused.
package enum HashAlgorithm: UInt8, Codable, Sendable {
    /// SHA-256 addresses, HMAC-SHA-256 identities.
    case sha256 = 1
}
