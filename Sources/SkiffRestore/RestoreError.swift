import SkiffCore

package enum RestoreError: Error, CustomStringConvertible {
    /// An object needed for `path` failed its checks.
    case object(path: String, ObjectError)
    /// The snapshot has no entry at the path asked for.
    case pathNotInSnapshot(String)
    /// The target exists and is not a directory.
    case targetNotDirectory(String)
    /// A file's content does not add up to its recorded size.
    case sizeMismatch(path: String, expected: UInt64, actual: UInt64)

    package var description: String {
        switch self {
        case .object(let path, let error): return "\(path): \(error)"
        case .pathNotInSnapshot(let path): return "\(path): not in the snapshot"
        case .targetNotDirectory(let path): return "\(path): target exists and is not a directory"
        case .sizeMismatch(let path, let expected, let actual):
            return "\(path): content covers \(actual) bytes, the entry records \(expected)"
        }
    }
}
