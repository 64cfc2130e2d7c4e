import SkiffCore

extension TreeEntry {
    /// The object a read of this entry starts with, and the bytes it is expected to hold, for
    /// read-ahead: a small file's only chunk, a large file's content list, a directory's node;
    /// nil for entries without content.
    var firstObject: (address: ObjectAddress, expected: Int)? {
        switch content {
        case .chunk(let address): (address, Int(size))
        case .list(let address), .subtree(let address): (address, RestoreEngine.nodeSizeEstimate)
        case .none: nil
        }
    }
}

extension [TreeEntry] {
    /// The nodes of the subdirectories among these entries, to prefetch together.
    var subdirectoryNodes: [(address: ObjectAddress, expected: Int)] {
        compactMap { entry in
            guard entry.type == .directory, case .subtree = entry.content else { return nil }
            return entry.firstObject
        }
    }
}
