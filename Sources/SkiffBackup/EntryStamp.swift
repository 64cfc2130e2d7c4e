import SkiffSystem

/// What the kernel says of an entry that decides whether it changed since the last snapshot:
/// type and permissions, inode, size and the three times. Owner, group, link count, extended
/// attributes and a symlink's target cannot change without changing the ctime, so an entry
/// whose stamp is unchanged has the same tree entry as before (its owner's and group's names
/// aside: they are looked up again only when its directory is rebuilt).
package struct EntryStamp: Equatable, Sendable {
    package var mode: UInt32
    package var inode: UInt64
    package var size: Int64
    package var modificationTime: Int64
    package var changeTime: Int64
    package var accessTime: Int64

    package init(mode: UInt32, inode: UInt64, size: Int64, modificationTime: Int64, changeTime: Int64, accessTime: Int64) {
        self.mode = mode
        self.inode = inode
        self.size = size
        self.modificationTime = modificationTime
        self.changeTime = changeTime
        self.accessTime = accessTime
    }

    /// A symlink's access time is left out (0): reading its target to back it up updates it.
    package init(_ status: FileStatus) {
        self.init(
            mode: status.mode, inode: status.inode, size: status.size, modificationTime: status.modificationNanosecondsSinceEpoch,
            changeTime: status.changeNanosecondsSinceEpoch,
            accessTime: status.isSymlink ? 0 : status.accessSeconds &* 1_000_000_000 &+ Int64(status.accessNanoseconds))
    }
}
