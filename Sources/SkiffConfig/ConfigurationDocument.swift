import Yams

/// A parsed YAML document with typed, located accessors: every failure becomes a
/// `ConfigurationError` with the line of the offending node.
struct ConfigurationDocument {
    let file: String
    let root: Node

    init(text: String, file: String) throws {
        self.file = file
        do {
            guard let root = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: file, line: 1, key: "", message: "the file is empty")
            }
            self.root = root
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                throw ConfigurationError(file: file, line: mark.line, key: "", message: "YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                throw ConfigurationError(file: file, line: context.mark.line, key: duplicates.joined(separator: ", "), message: "duplicate key")
            default:
                throw ConfigurationError(file: file, line: 0, key: "", message: "YAML: \(error)")
            }
        }
    }

    func error(_ node: Node?, key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node?.mark?.line ?? 0, key: key, message: message)
    }

    func mapping(_ node: Node, key: String) throws -> Node.Mapping {
        guard let mapping = node.mapping else { throw error(node, key: key, "expected a mapping of keys to values") }
        return mapping
    }

    private func name(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func string(_ mapping: Node.Mapping, _ key: String, prefix: String = "", required: Bool) throws -> String? {
        guard let node = mapping[key] else {
            if required { throw ConfigurationError(file: file, line: mapping.mark?.line ?? 0, key: name(prefix, key), message: "missing") }
            return nil
        }
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw error(node, key: name(prefix, key), "expected a non-empty string") }
        return scalar.string
    }

    func integer(_ mapping: Node.Mapping, _ key: String, prefix: String = "") throws -> Int? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.int else { throw error(node, key: name(prefix, key), "expected a whole number") }
        return value
    }

    func boolean(_ mapping: Node.Mapping, _ key: String, prefix: String = "") throws -> Bool? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.bool else { throw error(node, key: name(prefix, key), "expected true or false") }
        return value
    }

    func sequence(_ mapping: Node.Mapping, _ key: String, prefix: String = "") throws -> [Node]? {
        guard let node = mapping[key] else { return nil }
        guard let sequence = node.sequence else { throw error(node, key: name(prefix, key), "expected a list") }
        return Array(sequence)
    }

    /// Throws for the first key not in `allowed` (a typo must not be silently ignored).
    func rejectUnknown(_ mapping: Node.Mapping, allowed: Set<String>, prefix: String) throws {
        for (key, _) in mapping {
            let text = key.string ?? "?"
            if !allowed.contains(text) {
                throw error(key, key: name(prefix, text), "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }
}
