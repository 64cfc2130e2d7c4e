import SkiffCore
import SkiffStorage

/// One problem found by `skiff verify`.
package struct VerificationFinding: Sendable, Codable, Equatable, CustomStringConvertible {
    package var code: FindingKind
    package var message: String
    package var object: String?
    package var seal: String?
    /// Where in the snapshot the object sits ("/etc/hosts"), when known.
    package var path: String?

    package init(code: FindingKind, message: String, object: String? = nil, seal: String? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.object = object
        self.seal = seal
        self.path = path
    }

    package var description: String {
        var text = message
        if let path { text += " (at \(path))" }
        return text
    }
}

/// A check of a repository that needs the tenant's restore key (it decrypts), which a keyless
/// reader such as the audit runs only when one is given. `SkiffRestore` provides it.
package protocol KeyedCheck: Sendable {
    /// Every problem found, keyless ones included (callers drop those they found themselves).
    func problems(in repository: Repository) async throws -> [VerificationFinding]
}
