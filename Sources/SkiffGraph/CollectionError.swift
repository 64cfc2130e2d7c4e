import SkiffCore
import SkiffStorage

/// Why a keyless collection stopped before deleting anything (docs/FORMAT.md §10, G5). Callers
/// word it for their users (a site: heal first; a local repository: verify it).
package enum CollectionError: Error, Equatable, CustomStringConvertible {
    /// A root seal could not be read: the objects it reaches cannot be known.
    case unreadableSeal(SealName, reason: String)
    /// Objects that a root reaches are missing or damaged: their children cannot be known.
    case incompleteDAG([ObjectAddress])

    /// Up to five of the unreadable objects, for messages.
    package var sample: String {
        guard case .incompleteDAG(let addresses) = self else { return "" }
        return addresses.prefix(5).map(\.hex).joined(separator: ", ")
    }

    package var description: String {
        switch self {
        case .unreadableSeal(let name, let reason):
            return "nothing deleted: seal \(name.short) is unreadable (\(reason))"
        case .incompleteDAG(let addresses):
            return "nothing deleted: \(addresses.count) objects that kept objects reach are missing or damaged (\(sample)…)"
        }
    }
}
