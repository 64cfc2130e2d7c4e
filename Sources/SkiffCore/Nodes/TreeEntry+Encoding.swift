extension TreeEntry {
    private enum Flag {
        static let userName: UInt8 = 1
        static let groupName: UInt8 = 2
        static let hardlink: UInt8 = 4
        static let xattrs: UInt8 = 8
        static let content: UInt8 = 16
        static let all: UInt8 = 31
    }

    private enum ContentTag: UInt8 {
        case chunk = 1, list = 2, subtree = 3
    }

    static let maxXattrCount = 4096
    /// The fewest bytes an entry takes (a one-byte name, single-byte numbers, no options).
    static let minimumEncodedSize = 14
    static let maxXattrValue = 1 << 20

    /// Encodes the entry; its content address is written as an index into `children`.
    func write(into writer: inout ByteWriter, childIndex: (ObjectAddress) -> Int) {
        writer.lengthPrefixed(name)
        writer.u8(type.rawValue)
        writer.varint(UInt64(permissions))
        writer.varint(UInt64(uid))
        writer.varint(UInt64(gid))
        var flags: UInt8 = 0
        if userName != nil { flags |= Flag.userName }
        if groupName != nil { flags |= Flag.groupName }
        if hardlink != nil { flags |= Flag.hardlink }
        if !extendedAttributes.isEmpty { flags |= Flag.xattrs }
        if content != .none { flags |= Flag.content }
        writer.u8(flags)
        if let userName { writer.lengthPrefixed(Array(userName.utf8)) }
        if let groupName { writer.lengthPrefixed(Array(groupName.utf8)) }
        writer.varint(size)
        for time in [modificationTime, accessTime, changeTime] {
            writer.zigzag(time.seconds)
            writer.varint(UInt64(time.nanoseconds))
        }
        switch type {
        case .symlink: writer.lengthPrefixed(linkTarget)
        case .characterDevice, .blockDevice: writer.varint(deviceNumber)
        default: break
        }
        if let hardlink {
            writer.varint(hardlink.device)
            writer.varint(hardlink.inode)
        }
        if !extendedAttributes.isEmpty {
            writer.varint(extendedAttributes.count)
            for attribute in extendedAttributes {
                writer.lengthPrefixed(attribute.name)
                writer.lengthPrefixed(attribute.value)
            }
        }
        switch content {
        case .none: break
        case .chunk(let a):
            writer.u8(ContentTag.chunk.rawValue)
            writer.varint(childIndex(a))
        case .list(let a):
            writer.u8(ContentTag.list.rawValue)
            writer.varint(childIndex(a))
        case .subtree(let a):
            writer.u8(ContentTag.subtree.rawValue)
            writer.varint(childIndex(a))
        }
    }

    /// Decodes one entry, resolving its content index against `children` and checking that
    /// the name is a safe single component and the content fits the type.
    static func read(from reader: inout ByteReader, children: [ObjectAddress]) throws -> TreeEntry {
        let name = try reader.lengthPrefixed(limit: 255)
        guard isValidName(name) else {
            throw FormatError.invalid("tree entry", "unsafe name \(String(decoding: name, as: UTF8.self).debugDescription)")
        }
        let typeByte = try reader.u8()
        guard let type = EntryType(rawValue: typeByte) else { throw FormatError.unsupported("tree entry", "type \(typeByte)") }
        let permissions = try reader.varint()
        guard permissions <= 0o7777 else { throw FormatError.invalid("tree entry", "permission bits out of range") }
        let uid = try reader.varint(), gid = try reader.varint()
        guard uid <= UInt64(UInt32.max), gid <= UInt64(UInt32.max) else { throw FormatError.invalid("tree entry", "uid/gid out of range") }
        let flags = try reader.u8()
        guard flags & ~Flag.all == 0 else { throw FormatError.invalid("tree entry", "unknown flags") }
        func string() throws -> String {
            let bytes = try reader.lengthPrefixed(limit: 256)
            guard let s = String(validating: bytes, as: UTF8.self) else { throw FormatError.invalid("tree entry", "owner name not UTF-8") }
            return s
        }
        var entry = TreeEntry(name: name, type: type, permissions: UInt32(permissions), uid: UInt32(uid), gid: UInt32(gid))
        if flags & Flag.userName != 0 { entry.userName = try string() }
        if flags & Flag.groupName != 0 { entry.groupName = try string() }
        entry.size = try reader.varint()
        var times: [Timestamp] = []
        for _ in 0..<3 {
            let seconds = try reader.zigzag()
            let nanoseconds = try reader.varint()
            guard nanoseconds < 1_000_000_000 else { throw FormatError.invalid("tree entry", "nanoseconds out of range") }
            times.append(Timestamp(seconds: seconds, nanoseconds: UInt32(nanoseconds)))
        }
        entry.modificationTime = times[0]
        entry.accessTime = times[1]
        entry.changeTime = times[2]
        switch type {
        case .symlink:
            entry.linkTarget = try reader.lengthPrefixed(limit: 4096)
            guard !entry.linkTarget.contains(0) else { throw FormatError.invalid("tree entry", "symlink target contains NUL") }
        case .characterDevice, .blockDevice:
            entry.deviceNumber = try reader.varint()
        default: break
        }
        if flags & Flag.hardlink != 0 {
            guard type == .regular else { throw FormatError.invalid("tree entry", "hard link on a non-regular file") }
            entry.hardlink = HardlinkKey(device: try reader.varint(), inode: try reader.varint())
        }
        if flags & Flag.xattrs != 0 {
            let count = try reader.count(limit: maxXattrCount)
            guard count > 0 else { throw FormatError.invalid("tree entry", "empty xattr list flagged") }
            for _ in 0..<count {
                let attributeName = try reader.lengthPrefixed(limit: 255)
                guard !attributeName.isEmpty, !attributeName.contains(0) else { throw FormatError.invalid("tree entry", "bad xattr name") }
                entry.extendedAttributes.append(ExtendedAttribute(name: attributeName, value: try reader.lengthPrefixed(limit: maxXattrValue)))
            }
        }
        if flags & Flag.content != 0 {
            let tagByte = try reader.u8()
            guard !children.isEmpty else { throw FormatError.invalid("tree entry", "content reference in a node without children") }
            let index = try reader.count(limit: children.count - 1)
            guard let tag = ContentTag(rawValue: tagByte) else { throw FormatError.unsupported("tree entry", "content tag \(tagByte)") }
            switch (tag, type) {
            case (.chunk, .regular): entry.content = .chunk(children[index])
            case (.list, .regular): entry.content = .list(children[index])
            case (.subtree, .directory): entry.content = .subtree(children[index])
            default: throw FormatError.invalid("tree entry", "content \(tag) does not fit a \(type)")
            }
        } else if type == .directory {
            throw FormatError.invalid("tree entry", "directory without a tree node")
        }
        return entry
    }
}
