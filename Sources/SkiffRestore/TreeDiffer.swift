import Glibc
import SkiffCore
import SkiffSystem

/// Compares a folder against a snapshot: types, content (read back and compared with the
/// verified chunks), sizes, symlink targets, device numbers, permissions, owners, modification
/// times to the nanosecond, extended attributes, hard links and holes.
package struct TreeDiffer: Sendable {
    package struct Options: Sendable {
        /// Compare uid and gid (only meaningful when the restore set them, i.e. as root).
        package var compareOwners = geteuid() == 0
        package init() {}
    }

    package let reader: ObjectReader
    package let options: Options

    package init(reader: ObjectReader, options: Options = Options()) {
        self.reader = reader
        self.options = options
    }

    /// Every difference between the snapshot (rooted at `root`, optionally only `subPath`)
    /// and `directory`, where the snapshot's "/" corresponds to `directory` (as restore lays
    /// it out). Empty when identical. Entries in `directory` that the snapshot lacks are
    /// reported too.
    package func differences(root: ObjectAddress, subPath: RawPath?, directory: RawPath) async throws -> [String] {
        var problems: [String] = []
        var seen = Set<[UInt8]>()
        var links: [HardlinkKey: (device: UInt64, inode: UInt64)] = [:]
        let walker = SnapshotWalker(reader: reader)
        try await walker.walk(root: root, subPath: subPath) { relative, entry in
            seen.insert(relative)
            let display = "/" + String(decoding: relative, as: UTF8.self)
            let local = directory.appending(relative)
            guard let status = try? FileStatus.lstat(local) else {
                problems.append("\(display): missing")
                return
            }
            guard EntryType(mode: status.mode) == entry.type else {
                problems.append("\(display): is a \(EntryType(mode: status.mode).map { "\($0)" } ?? "?"), the snapshot has a \(entry.type)")
                return
            }
            if entry.type != .symlink && status.permissions != entry.permissions {
                problems.append("\(display): mode \(String(status.permissions, radix: 8)), the snapshot has \(String(entry.permissions, radix: 8))")
            }
            if options.compareOwners && (status.uid != entry.uid || status.gid != entry.gid) {
                problems.append("\(display): owner \(status.uid):\(status.gid), the snapshot has \(entry.uid):\(entry.gid)")
            }
            if entry.type != .directory && entry.type != .symlink
                && (status.modificationSeconds != entry.modificationTime.seconds || status.modificationNanoseconds != entry.modificationTime.nanoseconds) {
                problems.append("\(display): modified \(status.modificationSeconds).\(status.modificationNanoseconds), the snapshot has \(entry.modificationTime.seconds).\(entry.modificationTime.nanoseconds)")
            }
            let xattrs = (try? ExtendedAttributes.read(local)) ?? []
            if xattrs.map({ ExtendedAttribute(name: $0.name, value: $0.value) }) != entry.extendedAttributes {
                problems.append("\(display): extended attributes differ")
            }
            switch entry.type {
            case .regular:
                if let key = entry.hardlink {
                    if let first = links[key], first != (status.device, status.inode) {
                        problems.append("\(display): not the same file as its hard links")
                    }
                    links[key] = links[key] ?? (status.device, status.inode)
                }
                if let problem = try await compareContent(entry, local: local, status: status, display: display) { problems.append(problem) }
            case .symlink:
                if (try? SymbolicLink.target(local)) != entry.linkTarget { problems.append("\(display): symlink target differs") }
            case .characterDevice, .blockDevice:
                if status.rdev != entry.deviceNumber { problems.append("\(display): device number differs") }
            default:
                break
            }
        }
        try extraEntries(directory, subPath: subPath, seen: seen, into: &problems)
        return problems
    }

    /// Reads the file back and compares it with the snapshot's verified chunks; holes must
    /// read as zeros.
    private func compareContent(_ entry: TreeEntry, local: RawPath, status: FileStatus, display: String) async throws -> String? {
        guard UInt64(status.size) == entry.size else { return "\(display): \(status.size) bytes, the snapshot has \(entry.size)" }
        let runs: [FileRun]
        do { runs = try await reader.fileRuns(entry.content, size: entry.size) } catch let error as ObjectError {
            throw RestoreError.object(path: display, error)
        }
        let fd = try FileIO.open(local, flags: O_RDONLY)
        defer { close(fd) }
        for run in runs {
            var bytes = [UInt8](repeating: 0, count: Int(run.length))
            let read = try bytes.withUnsafeMutableBytes { try FileIO.preadFull(fd, into: $0, at: Int64(run.offset), path: display) }
            guard read == Int(run.length) else { return "\(display): shorter than the snapshot" }
            if let chunk = run.chunk {
                let expected: [UInt8]
                do { expected = try await reader.chunk(chunk, length: run.length) } catch let error as ObjectError {
                    throw RestoreError.object(path: display, error)
                }
                if bytes != expected { return "\(display): content differs at offset \(run.offset)" }
            } else if bytes.contains(where: { $0 != 0 }) {
                return "\(display): data where the snapshot has a hole at offset \(run.offset)"
            }
        }
        return nil
    }

    /// Entries present in the folder but not in the snapshot.
    private func extraEntries(_ directory: RawPath, subPath: RawPath?, seen: Set<[UInt8]>, into problems: inout [String]) throws {
        func scan(_ relative: [UInt8]) throws {
            let folder = relative.isEmpty ? directory : directory.appending(relative)
            guard let names = try? FileIO.directoryEntries(folder) else { return }
            for name in names {
                let path = relative.isEmpty ? name : relative + [0x2f] + name
                if !seen.contains(path) {
                    problems.append("/" + String(decoding: path, as: UTF8.self) + ": not in the snapshot")
                    continue
                }
                if let status = try? FileStatus.lstat(directory.appending(path)), status.isDirectory { try scan(path) }
            }
        }
        let start = subPath.map { Array($0.normalized.components.joined(separator: [0x2f])) } ?? []
        if start.isEmpty {
            try scan([])
        } else if let status = try? FileStatus.lstat(directory.appending(start)), status.isDirectory {
            try scan(start)
        }
    }
}
