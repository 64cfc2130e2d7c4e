/// The encrypted root object of a snapshot: what was backed up, by which host, when, and
/// the tree node of "/". Its only child is that tree node.
///
/// Body layout: u8 version (1) || lp host name || i64 time (Unix ns) || varint path count ||
/// lp paths... || varint tag count || lp tags... || varint files || varint directories ||
/// varint other entries || varint logical bytes || varint child index of the root tree.
package struct SnapshotRecord: Equatable, Sendable {
    package var hostName: String
    package var time: Timestamp
    /// The absolute paths that were backed up, as raw bytes.
    package var paths: [[UInt8]]
    package var tags: [String]
    package var summary: SnapshotSummary
    package var root: ObjectAddress

    package init(hostName: String, time: Timestamp, paths: [[UInt8]], tags: [String], summary: SnapshotSummary, root: ObjectAddress) {
        self.hostName = hostName
        self.time = time
        self.paths = paths
        self.tags = tags
        self.summary = summary
        self.root = root
    }

    package var children: [ObjectAddress] { [root] }

    package var body: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.u8(1)
        writer.lengthPrefixed(Array(hostName.utf8))
        writer.i64(time.unixNanoseconds)
        writer.varint(paths.count)
        for path in paths { writer.lengthPrefixed(path) }
        writer.varint(tags.count)
        for tag in tags { writer.lengthPrefixed(Array(tag.utf8)) }
        writer.varint(summary.files)
        writer.varint(summary.directories)
        writer.varint(summary.otherEntries)
        writer.varint(summary.logicalBytes)
        writer.varint(0)
        return writer.bytes
    }

    package static func decode(body: [UInt8], children: [ObjectAddress]) throws -> SnapshotRecord {
        var reader = ByteReader(body, context: "snapshot")
        guard try reader.u8() == 1 else { throw FormatError.unsupported("snapshot", "version") }
        guard let host = String(validating: try reader.lengthPrefixed(limit: 64), as: UTF8.self) else {
            throw FormatError.invalid("snapshot", "host name not UTF-8")
        }
        let time = Timestamp(unixNanoseconds: try reader.i64())
        var paths: [[UInt8]] = []
        for _ in 0..<(try reader.count(limit: 4096)) { paths.append(try reader.lengthPrefixed(limit: 4096)) }
        var tags: [String] = []
        for _ in 0..<(try reader.count(limit: 256)) {
            guard let tag = String(validating: try reader.lengthPrefixed(limit: 256), as: UTF8.self) else {
                throw FormatError.invalid("snapshot", "tag not UTF-8")
            }
            tags.append(tag)
        }
        let summary = SnapshotSummary(
            files: try reader.varint(), directories: try reader.varint(), otherEntries: try reader.varint(), logicalBytes: try reader.varint())
        guard !children.isEmpty else { throw FormatError.invalid("snapshot", "no root tree") }
        let root = children[try reader.count(limit: children.count - 1)]
        try reader.expectEnd()
        return SnapshotRecord(hostName: host, time: time, paths: paths, tags: tags, summary: summary, root: root)
    }
}

/// Counts of what a snapshot holds.
package struct SnapshotSummary: Equatable, Sendable, Codable {
    package var files: UInt64
    package var directories: UInt64
    package var otherEntries: UInt64
    package var logicalBytes: UInt64

    package init(files: UInt64 = 0, directories: UInt64 = 0, otherEntries: UInt64 = 0, logicalBytes: UInt64 = 0) {
        self.files = files
        self.directories = directories
        self.otherEntries = otherEntries
        self.logicalBytes = logicalBytes
    }
}
