/// A key could not be used.
package enum KeyError: Error, Equatable, CustomStringConvertible {
    /// The passphrase does not open the restore key.
    case wrongPassphrase
    /// An object was sealed to a different tenant key than the one given.
    case wrongTenantKey
    /// The file is not the kind of key expected.
    case wrongKeyKind(expected: String, found: String)
    /// A host certificate does not verify against the tenant's certification key.
    case invalidHostCertificate(String)
    case invalidHostName(String)
    /// The restore key and the host key or repository belong to different tenants.
    case tenantMismatch(expected: TenantID, found: TenantID)
    /// A paper key line failed its checksum or could not be read.
    case paperKeyLine(Int, String)

    package var description: String {
        switch self {
        case .wrongPassphrase: return "wrong passphrase for the restore key"
        case .wrongTenantKey: return "the data was encrypted for another tenant's key"
        case .wrongKeyKind(let expected, let found): return "expected a \(expected), found a \(found)"
        case .invalidHostCertificate(let why): return "invalid host certificate: \(why)"
        case .invalidHostName(let name): return "invalid host name \"\(name)\": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        case .tenantMismatch(let expected, let found): return "key belongs to tenant \(found), expected \(expected)"
        case .paperKeyLine(let line, let why): return "paper key line \(line): \(why)"
        }
    }
}
