import SkiffCore
import SkiffGraph

/// One thing an audit found wrong, typed so that scripts can act on it.
package struct AuditFinding: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The audit reports kinds of `FindingKind`: every missing, corrupt or malformed object;
    /// every seal problem (`misfiled-seal` as `malformed-seal`, `wrong-tenant` as
    /// `unknown-signer`); `rollback`, `root-mismatch`, `missing-seal` and `implausible-seal`
    /// across sources; `undecryptable-object` for what only the restore key shows.
    package typealias Kind = FindingKind

    package var kind: Kind
    /// The site (or repository) where it was found.
    package var source: String
    /// The seals concerned ("host#sequence hash-prefix"); for an object, the first seal the
    /// audit reached it from.
    package var seals: [String]
    /// The object concerned, if any.
    package var object: String?
    /// Addresses from the seal's root down to the object's parent: where the object sits in
    /// the Merkle DAG (names are encrypted; the path of addresses is what a keyless audit sees).
    package var dagPath: [String]
    package var message: String

    package init(_ kind: Kind, source: String, seals: [String] = [], object: ObjectAddress? = nil, dagPath: [ObjectAddress] = [], message: String) {
        self.kind = kind
        self.source = source
        self.seals = seals
        self.object = object?.hex
        self.dagPath = dagPath.map(\.hex)
        self.message = message
    }

    package var description: String {
        var text = "[\(kind.rawValue)] \(source): \(message)"
        if !seals.isEmpty { text += " (seal \(seals.joined(separator: ", ")))" }
        if !dagPath.isEmpty { text += " (under \(dagPath.map { String($0.prefix(12)) }.joined(separator: " > ")))" }
        return text
    }

    /// The finding for a seal problem found by `SealCatalog`.
    package static func from(_ error: SealError, source: String) -> AuditFinding {
        let kind: Kind = switch error {
        case .malformed, .misfiled: .malformedSeal
        case .badSignature: .badSignature
        case .unknownSigner, .wrongTenant: .unknownSigner
        case .brokenChain: .brokenChain
        case .fork: .fork
        }
        return AuditFinding(kind, source: source, seals: error.involvedSeals.map(\.short), message: "\(error)")
    }
}
