import SkiffCore
import SkiffSystem

/// One entry of a directory the backup walked: what `lstat` said of it, its content, and
/// whether it is exactly what the directory's cached listing holds.
struct WalkedEntry: Sendable {
    var name: [UInt8]
    /// The status the entry is recorded with (for a file read, the one taken after reading).
    var status: FileStatus
    /// Its content in the new snapshot.
    var content: ContentReference
    /// Its tree entry, when it has been built; an unchanged entry's is built only if its
    /// directory's node must be rebuilt.
    var treeEntry: TreeEntry?
    /// Whether the next backup may take `content` from the cache when the stamp still
    /// matches (false for a file that changed while it was read, or a live database).
    var isReusable: Bool
    /// The same stamp and content as in the directory's cached listing.
    var isUnchanged: Bool

    /// The logical size counted for the seal: the bytes read, or the size stat gave.
    var size: Int { Int(treeEntry?.size ?? UInt64(max(0, status.size))) }

    init(name: [UInt8], status: FileStatus, content: ContentReference, treeEntry: TreeEntry? = nil, isReusable: Bool = true, isUnchanged: Bool = false) {
        self.name = name
        self.status = status
        self.content = content
        self.treeEntry = treeEntry
        self.isReusable = isReusable
        self.isUnchanged = isUnchanged
    }

    /// Marks it unchanged when `listing` holds the same name with the same stamp and content.
    mutating func compare(with listing: CachedListing?) {
        guard isReusable, let listing, let index = listing.index(of: name) else { return }
        isUnchanged = listing.stamp(at: index) == EntryStamp(status) && listing.content(at: index) == content
    }
}
