import SkiffCore
import SkiffGraph

/// One thing an audit found wrong, typed so that scripts can act on it.
package struct AuditFinding: Sendable, Codable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Codable, CaseIterable {
        /// An object a seal reaches is not at the site.
        case missingObject = "missing-object"
        /// An object's bytes do not hash to its address, or its header does not parse.
        case corruptObject = "corrupt-object"
        /// With the restore key: an object fails its AEAD tag or its keyed identity.
        case undecryptableObject = "undecryptable-object"
        /// A seal does not parse, or is filed under another name than its contents.
        case malformedSeal = "malformed-seal"
        case badSignature = "bad-signature"
        /// The seal's signing key is not certified by the tenant key the auditor pinned.
        case unknownSigner = "unknown-signer"
        /// A seal names a previous seal that is not there, or not the one before it.
        case brokenChain = "broken-chain"
        /// Two seals of one host with the same sequence number at one site.
        case fork
        /// A site's newest seal of a host is older than at the last audit, or the seal the
        /// last audit saw at that sequence was replaced.
        case rollback
        /// Two sites hold different seals for the same host and sequence.
        case rootMismatch = "root-mismatch"
        /// A seal held by another site is not at this one.
        case missingSeal = "missing-seal"
        /// A seal's clear fields cannot be true: a time in the future or before the seal it
        /// follows, absurd counts, a root that is not a snapshot (`SealPlausibility`).
        case implausibleSeal = "implausible-seal"
    }

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
