/// What a directory entry is.
package enum EntryType: UInt8, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case regular = 1
    case directory = 2
    case symlink = 3
    case fifo = 4
    case characterDevice = 5
    case blockDevice = 6
    case socket = 7

    package var description: String {
        switch self {
        case .regular: return "file"
        case .directory: return "dir"
        case .symlink: return "symlink"
        case .fifo: return "fifo"
        case .characterDevice: return "chardev"
        case .blockDevice: return "blockdev"
        case .socket: return "socket"
        }
    }
}

extension EntryType {
    /// The entry type of a Linux st_mode (S_IFMT bits), or nil for types Skiff does not record.
    package init?(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .regular
        case 0o040000: self = .directory
        case 0o120000: self = .symlink
        case 0o010000: self = .fifo
        case 0o020000: self = .characterDevice
        case 0o060000: self = .blockDevice
        case 0o140000: self = .socket
        default: return nil
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch.
package struct Timestamp: Equatable, Hashable, Comparable, Sendable {
    package var seconds: Int64
    package var nanoseconds: UInt32

    package init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    package init(unixNanoseconds: Int64) {
        seconds = unixNanoseconds / 1_000_000_000
        var ns = unixNanoseconds % 1_000_000_000
        if ns < 0 {
            seconds -= 1
            ns += 1_000_000_000
        }
        nanoseconds = UInt32(ns)
    }

    package static let zero = Timestamp(seconds: 0, nanoseconds: 0)

    package var unixNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

/// One extended attribute: raw name (e.g. "user.comment", "system.posix_acl_access") and value.
package struct ExtendedAttribute: Equatable, Hashable, Sendable {
    package var name: [UInt8]
    package var value: [UInt8]

    package init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// Which object holds an entry's content.
package enum ContentReference: Equatable, Hashable, Sendable {
    /// No content: empty files, symlinks, devices, fifos.
    case none
    /// A file of exactly one chunk.
    case chunk(ObjectAddress)
    /// A file described by a content list (several chunks, or holes).
    case list(ObjectAddress)
    /// A directory's tree node.
    case subtree(ObjectAddress)

    package var address: ObjectAddress? {
        switch self {
        case .none: return nil
        case .chunk(let a), .list(let a), .subtree(let a): return a
        }
    }

    /// The kind of object the reference points at.
    package var expectedKind: ObjectKind? {
        switch self {
        case .none: return nil
        case .chunk: return .chunk
        case .list: return .contentList
        case .subtree: return .tree
        }
    }
}

/// The identity of an inode shared by hard links within one snapshot.
package struct HardlinkKey: Equatable, Hashable, Sendable {
    package var device: UInt64
    package var inode: UInt64

    package init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// One entry of a directory, with everything needed to rebuild it.
package struct TreeEntry: Equatable, Sendable {
    package var name: [UInt8]
    package var type: EntryType
    /// Permission bits including setuid, setgid and sticky (mode & 0o7777).
    package var permissions: UInt32
    package var uid: UInt32
    package var gid: UInt32
    package var userName: String?
    package var groupName: String?
    /// Logical size in bytes (regular files; the target length for symlinks; 0 otherwise).
    package var size: UInt64
    package var modificationTime: Timestamp
    package var accessTime: Timestamp
    package var changeTime: Timestamp
    /// rdev of character and block devices.
    package var deviceNumber: UInt64
    /// Target of a symlink, as raw bytes.
    package var linkTarget: [UInt8]
    /// Set for regular files with more than one link: entries with the same key are one inode.
    package var hardlink: HardlinkKey?
    package var extendedAttributes: [ExtendedAttribute]
    package var content: ContentReference

    package init(
        name: [UInt8], type: EntryType, permissions: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
        userName: String? = nil, groupName: String? = nil, size: UInt64 = 0,
        modificationTime: Timestamp = .zero, accessTime: Timestamp = .zero, changeTime: Timestamp = .zero,
        deviceNumber: UInt64 = 0, linkTarget: [UInt8] = [], hardlink: HardlinkKey? = nil,
        extendedAttributes: [ExtendedAttribute] = [], content: ContentReference = .none
    ) {
        self.name = name
        self.type = type
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.userName = userName
        self.groupName = groupName
        self.size = size
        self.modificationTime = modificationTime
        self.accessTime = accessTime
        self.changeTime = changeTime
        self.deviceNumber = deviceNumber
        self.linkTarget = linkTarget
        self.hardlink = hardlink
        self.extendedAttributes = extendedAttributes
        self.content = content
    }

    package var displayName: String { String(decoding: name, as: UTF8.self) }

    /// Names are single path components: non-empty, at most 255 bytes, no '/' or NUL, not
    /// "." or "..". Decoders enforce this so that a hostile snapshot cannot escape a restore target.
    package static func isValidName(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.count <= 255 else { return false }
        if name == [0x2e] || name == [0x2e, 0x2e] { return false }
        return !name.contains(0x2f) && !name.contains(0)
    }
}
