import Glibc
import SkiffCore
import SkiffSystem

extension TreeEntry {
    /// The entry for `path` from its lstat data, with extended attributes and symlink target
    /// read from the filesystem. Content is filled in by the caller.
    static func metadata(name: [UInt8], path: RawPath, status: FileStatus, accounts: AccountNames) throws -> TreeEntry {
        guard let type = EntryType(mode: status.mode) else {
            throw SystemError("unsupported file type", path: path.description, errno: EINVAL)
        }
        var entry = TreeEntry(
            name: name, type: type, permissions: status.permissions, uid: status.uid, gid: status.gid,
            userName: accounts.userName(status.uid), groupName: accounts.groupName(status.gid),
            modificationTime: Timestamp(seconds: status.modificationSeconds, nanoseconds: status.modificationNanoseconds),
            accessTime: Timestamp(seconds: status.accessSeconds, nanoseconds: status.accessNanoseconds),
            changeTime: Timestamp(seconds: status.changeSeconds, nanoseconds: status.changeNanoseconds))
        switch type {
        case .regular:
            entry.size = UInt64(max(0, status.size))
            if status.linkCount > 1 { entry.hardlink = HardlinkKey(device: status.device, inode: status.inode) }
        case .symlink:
            entry.linkTarget = try SymbolicLink.target(path)
            entry.size = UInt64(entry.linkTarget.count)
        case .characterDevice, .blockDevice:
            entry.deviceNumber = status.rdev
        default:
            break
        }
        entry.extendedAttributes = try ExtendedAttributes.read(path).map { ExtendedAttribute(name: $0.name, value: $0.value) }
        return entry
    }
}
