/// Authenticated encryption algorithms, by the identifier written into every object.
///
/// Identifiers are never reused (docs/FORMAT.md, "Algorithm identifiers").
package enum AEADAlgorithm: UInt8, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case aes256GCM = 1
    case chacha20Poly1305 = 2

    package static let keyCount = 32
    package static let nonceCount = 12
    package static let tagCount = 16

    package var name: String {
        switch self {
        case .aes256GCM: return "aes-256-gcm"
        case .chacha20Poly1305: return "chacha20-poly1305"
        }
    }

    package init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }

    package var description: String { name }

    var evpCipher: OpaquePointer {
        switch self {
        case .aes256GCM: return FetchedAlgorithms.shared.aes256GCM
        case .chacha20Poly1305: return FetchedAlgorithms.shared.chacha20Poly1305
        }
    }
}
