import SkiffCore
import SkiffSystem

/// Walks a snapshot's tree depth first, in name order, through a verifying reader.
package struct SnapshotWalker: Sendable {
    package let reader: ObjectReader
    /// Prefetch the nodes of a directory's subdirectories as soon as it is read, so that a
    /// site sends them in one request instead of one round trip each.
    package let prefetchesDirectories: Bool

    package init(reader: ObjectReader, prefetchesDirectories: Bool = false) {
        self.reader = reader
        self.prefetchesDirectories = prefetchesDirectories
    }

    /// The entry at `path` (absolute, as backed up) and the entries of the tree of "/".
    /// - Throws: `RestoreError.pathNotInSnapshot` when it is not there.
    package func entry(at path: RawPath, root: ObjectAddress) async throws -> TreeEntry {
        var entries = try await entries(of: root, at: "/")
        let parts = path.normalized.components
        for (index, part) in parts.enumerated() {
            guard let entry = entries.first(where: { $0.name == part }) else { throw RestoreError.pathNotInSnapshot(path.description) }
            if index == parts.count - 1 { return entry }
            guard case .subtree(let address) = entry.content else { throw RestoreError.pathNotInSnapshot(path.description) }
            entries = try await self.entries(of: address, at: path.description)
        }
        throw RestoreError.pathNotInSnapshot(path.description)
    }

    func entries(of address: ObjectAddress, at display: String) async throws -> [TreeEntry] {
        do { return try await reader.directoryEntries(address) } catch let error as ObjectError {
            throw RestoreError.object(path: display, error)
        }
    }

    /// Calls `visit` for every entry under the tree `root` (or under `subPath`), with its
    /// path relative to "/" (no leading slash), parents before children.
    package func walk(root: ObjectAddress, subPath: RawPath?, visit: ([UInt8], TreeEntry) async throws -> Void) async throws {
        if let subPath, !subPath.normalized.components.isEmpty {
            let entry = try await entry(at: subPath, root: root)
            let relative = subPath.normalized.components.joined(separator: [0x2f])
            try await visitTree(entry, path: Array(relative), visit: visit)
        } else {
            for entry in try await entries(of: root, at: "/") { try await visitTree(entry, path: entry.name, visit: visit) }
        }
    }

    private func visitTree(_ entry: TreeEntry, path: [UInt8], visit: ([UInt8], TreeEntry) async throws -> Void) async throws {
        try await visit(path, entry)
        guard case .subtree(let address) = entry.content else { return }
        let children = try await entries(of: address, at: "/" + String(decoding: path, as: UTF8.self))
        if prefetchesDirectories { reader.prefetch(children.subdirectoryNodes) }
        for child in children {
            try await visitTree(child, path: path + [0x2f] + child.name, visit: visit)
        }
    }
}
