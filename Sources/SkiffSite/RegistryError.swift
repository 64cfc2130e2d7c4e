/// Why the registry refused a console change (tenants, tokens, hosts).
package enum RegistryError: Error, Equatable, CustomStringConvertible {
    case tenantExists(String)
    case unknownTenant(String)
    case unknownToken(String)
    case hostNotCertified(String)
    case invalid(String)

    package var description: String {
        switch self {
        case .tenantExists(let name): return "tenant \(name) already exists"
        case .unknownTenant(let name): return "no tenant \(name)"
        case .unknownToken(let id): return "no token \(id)"
        case .hostNotCertified(let why): return "host not registered: \(why)"
        case .invalid(let why): return why
        }
    }
}
