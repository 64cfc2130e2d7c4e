/// A stored object failed a check. Every case names the object so an operator can find it.
package enum ObjectError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not hash to the address they were stored under (corrupted, truncated or swapped).
    case addressMismatch(expected: ObjectAddress, actual: ObjectAddress)
    /// The object is not where the Merkle DAG says it is.
    case missing(ObjectAddress)
    /// The header or decrypted body does not follow the format.
    case malformed(ObjectAddress, FormatError)
    /// The DAG expected one kind and the object says another.
    case unexpectedKind(ObjectAddress, expected: ObjectKind, actual: ObjectKind)
    /// The AEAD tag did not verify: tampered bytes, or a key that does not belong to them.
    case authenticationFailed(ObjectAddress)
    /// The decrypted plaintext does not match the keyed identity in the header.
    case identityMismatch(ObjectAddress)
    /// Larger than `ObjectHeader.maxObjectSize`.
    case tooLarge(ObjectAddress, Int)

    package var address: ObjectAddress {
        switch self {
        case .addressMismatch(let a, _), .missing(let a), .malformed(let a, _), .unexpectedKind(let a, _, _),
             .authenticationFailed(let a), .identityMismatch(let a), .tooLarge(let a, _):
            return a
        }
    }

    /// The stable, machine-readable name of the problem, for JSON output.
    package var kind: FindingKind {
        switch self {
        case .addressMismatch: return .corruptObject
        case .missing: return .missingObject
        case .malformed: return .malformedObject
        case .unexpectedKind: return .unexpectedKind
        case .authenticationFailed: return .authenticationFailed
        case .identityMismatch: return .identityMismatch
        case .tooLarge: return .objectTooLarge
        }
    }

    package var description: String {
        switch self {
        case .addressMismatch(let expected, let actual):
            return "object \(expected): stored bytes hash to \(actual) (corrupt, truncated or swapped)"
        case .missing(let a):
            return "object \(a): missing"
        case .malformed(let a, let error):
            return "object \(a): malformed: \(error)"
        case .unexpectedKind(let a, let expected, let actual):
            return "object \(a): expected a \(expected), found a \(actual)"
        case .authenticationFailed(let a):
            return "object \(a): AEAD authentication failed (tampered, or not encrypted under this tenant's keys)"
        case .identityMismatch(let a):
            return "object \(a): plaintext does not match its keyed identity"
        case .tooLarge(let a, let size):
            return "object \(a): \(size) bytes exceeds the \(ObjectHeader.maxObjectSize)-byte limit"
        }
    }
}
