/// A store operation failed. Messages name the key and, where there is one, the cause.
package enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(StoreKey)
    case invalidKey(String)
    /// The store's medium is full (ENOSPC, EDQUOT, quota exceeded). Nothing partial was kept.
    case noSpace(String)
    case permissionDenied(String)
    /// The store (or its folder) does not exist or is not a Skiff store.
    case unavailable(String)
    /// Any other failure of the medium or transport.
    case io(String)

    package var description: String {
        switch self {
        case .notFound(let key): return "\(key): not found"
        case .invalidKey(let key): return "invalid store key \(key.debugDescription)"
        case .noSpace(let what): return "no space left: \(what)"
        case .permissionDenied(let what): return "permission denied: \(what)"
        case .unavailable(let what): return "store unavailable: \(what)"
        case .io(let what): return "store I/O error: \(what)"
        }
    }
}
