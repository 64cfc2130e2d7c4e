/// Every kind of damage to stored objects and seals that Skiff reports, spelled once: the
/// codes `skiff verify` prints, the kinds of an audit's findings, and what `ObjectError` and
/// `SealError` are called in JSON. A kind never changes meaning; new ones are added.
///
/// The site protocol's refusal codes are another vocabulary (`SiteErrorCode`): a refusal says
/// why a request failed, a finding what is wrong with stored data.
package enum FindingKind: String, Sendable, Codable, CaseIterable {
    /// An object a seal reaches is not there.
    case missingObject = "missing-object"
    /// An object's bytes do not hash to its address.
    case corruptObject = "corrupt-object"
    /// An object's header does not parse.
    case malformedObject = "malformed-object"
    /// An object is of another kind than the link to it says (a chunk where a node belongs).
    case unexpectedKind = "unexpected-kind"
    /// An object is larger than the format allows.
    case objectTooLarge = "object-too-large"
    /// With the restore key: an object fails its AEAD tag.
    case authenticationFailed = "authentication-failed"
    /// With the restore key: an object's keyed identity does not match its plaintext.
    case identityMismatch = "identity-mismatch"
    /// With the restore key: an object cannot be decrypted with the key given.
    case wrongKey = "wrong-key"
    /// The audit's name for what only the restore key shows (any of the three above).
    case undecryptableObject = "undecryptable-object"
    /// A seal does not parse.
    case malformedSeal = "malformed-seal"
    /// A seal is filed under another name than its contents.
    case misfiledSeal = "misfiled-seal"
    case badSignature = "bad-signature"
    /// The seal's signing key is not certified by the tenant key (or not registered).
    case unknownSigner = "unknown-signer"
    /// The seal belongs to another tenant.
    case wrongTenant = "wrong-tenant"
    /// A seal names a previous seal that is not there, or not the one before it.
    case brokenChain = "broken-chain"
    /// Two seals of one host with the same sequence number, or the same parent.
    case fork
    /// A source's newest seal of a host is older than at the last audit, or the seal the last
    /// audit saw at that sequence was replaced.
    case rollback
    /// Two sites hold different seals for the same host and sequence.
    case rootMismatch = "root-mismatch"
    /// A seal held by another site is not at this one.
    case missingSeal = "missing-seal"
    /// A seal's clear fields cannot be true (`SealPlausibility`).
    case implausibleSeal = "implausible-seal"

    /// Whether a keyless reader (the audit, without the restore key) finds this kind itself:
    /// a keyed check adds only the other kinds. Kinds and sizes are checked when an object is
    /// decoded, which only the key allows.
    package var isKeyless: Bool {
        switch self {
        case .authenticationFailed, .identityMismatch, .wrongKey, .undecryptableObject, .unexpectedKind, .objectTooLarge: return false
        default: return true
        }
    }
}
