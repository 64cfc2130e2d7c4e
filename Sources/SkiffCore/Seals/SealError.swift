/// A seal, or a chain of seals, failed verification.
package enum SealError: Error, Equatable, CustomStringConvertible {
    case malformed(SealName?, FormatError)
    /// The signature does not cover these bytes.
    case badSignature(SealName)
    /// The signing key is not certified by the tenant (or not registered at the site).
    case unknownSigner(SealName, String)
    case wrongTenant(SealName, TenantID)
    /// The file name does not match the seal's contents (renamed or replaced).
    case misfiled(expected: SealName, found: SealName)
    /// The seal names a previous seal that is not the chain's seal at sequence - 1.
    case brokenChain(SealName, String)
    /// Two seals of one host claim the same parent or sequence.
    case fork(SealName, SealName)

    /// The seals the problem concerns.
    package var involvedSeals: [SealName] {
        switch self {
        case .malformed(let name, _): return name.map { [$0] } ?? []
        case .badSignature(let name), .unknownSigner(let name, _), .wrongTenant(let name, _), .brokenChain(let name, _): return [name]
        case .misfiled(let expected, let found): return [expected, found]
        case .fork(let a, let b): return [a, b]
        }
    }

    package var kind: FindingKind {
        switch self {
        case .malformed: return .malformedSeal
        case .badSignature: return .badSignature
        case .unknownSigner: return .unknownSigner
        case .wrongTenant: return .wrongTenant
        case .misfiled: return .misfiledSeal
        case .brokenChain: return .brokenChain
        case .fork: return .fork
        }
    }

    package var description: String {
        switch self {
        case .malformed(let name, let error): return "seal \(name.map { "\($0)" } ?? "?"): malformed: \(error)"
        case .badSignature(let name): return "seal \(name): signature does not verify"
        case .unknownSigner(let name, let key): return "seal \(name): signed by key \(key.prefix(16))…, which the tenant did not certify"
        case .wrongTenant(let name, let tenant): return "seal \(name): belongs to tenant \(tenant)"
        case .misfiled(let expected, let found): return "seal filed as \(expected) is really \(found) (replaced or renamed)"
        case .brokenChain(let name, let why): return "seal \(name): chain broken: \(why)"
        case .fork(let a, let b): return "seals \(a) and \(b) fork the chain"
        }
    }
}
