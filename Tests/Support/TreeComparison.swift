import Glibc
import SkiffCore
import SkiffSystem

/// Compares two trees entry by entry: type, content, symlink target, permissions,
/// modification time (nanoseconds), extended attributes and hard-link structure.
package enum TreeComparison {
    package struct Options: Sendable {
        package var compareOwners = false
        package var compareModificationTimes = true
        package var compareXattrs = true
        package init() {}
    }

    /// Every difference, as "relative/path: what differs". Empty when identical.
    package static func differences(_ expected: RawPath, _ actual: RawPath, options: Options = Options()) throws -> [String] {
        var problems: [String] = []
        var expectedLinks: [HardlinkKey: [UInt8]] = [:]
        var actualLinks: [HardlinkKey: [UInt8]] = [:]
        try compare(expected, actual, relative: [], options: options, problems: &problems,
                    expectedLinks: &expectedLinks, actualLinks: &actualLinks)
        return problems
    }

    private static func compare(
        _ expected: RawPath, _ actual: RawPath, relative: [UInt8], options: Options, problems: inout [String],
        expectedLinks: inout [HardlinkKey: [UInt8]], actualLinks: inout [HardlinkKey: [UInt8]]
    ) throws {
        let name = relative.isEmpty ? "." : String(decoding: relative, as: UTF8.self)
        let a = try FileStatus.lstat(expected)
        let b: FileStatus
        do { b = try FileStatus.lstat(actual) } catch {
            problems.append("\(name): missing")
            return
        }
        guard a.fileType == b.fileType else {
            problems.append("\(name): type \(String(a.fileType, radix: 8)) became \(String(b.fileType, radix: 8))")
            return
        }
        if !a.isSymlink && a.permissions != b.permissions {
            problems.append("\(name): mode \(String(a.permissions, radix: 8)) became \(String(b.permissions, radix: 8))")
        }
        if options.compareOwners && (a.uid != b.uid || a.gid != b.gid) {
            problems.append("\(name): owner \(a.uid):\(a.gid) became \(b.uid):\(b.gid)")
        }
        if options.compareModificationTimes && !relative.isEmpty
            && (a.modificationSeconds != b.modificationSeconds || a.modificationNanoseconds != b.modificationNanoseconds) {
            problems.append("\(name): mtime \(a.modificationSeconds).\(a.modificationNanoseconds) became \(b.modificationSeconds).\(b.modificationNanoseconds)")
        }
        if options.compareXattrs {
            let xa = try ExtendedAttributes.read(expected).map { "\($0.name)=\($0.value)" }
            let xb = try ExtendedAttributes.read(actual).map { "\($0.name)=\($0.value)" }
            if xa != xb { problems.append("\(name): extended attributes differ") }
        }
        if a.isRegular {
            if a.linkCount > 1 {
                let keyA = HardlinkKey(device: a.device, inode: a.inode)
                let keyB = HardlinkKey(device: b.device, inode: b.inode)
                if let firstA = expectedLinks[keyA] {
                    if actualLinks[keyB] != firstA { problems.append("\(name): not hard-linked like the original") }
                } else {
                    expectedLinks[keyA] = relative
                    actualLinks[keyB] = relative
                }
            }
            if try FileIO.readFile(expected) != FileIO.readFile(actual) { problems.append("\(name): content differs") }
        } else if a.isSymlink {
            if try SymbolicLink.target(expected) != SymbolicLink.target(actual) { problems.append("\(name): symlink target differs") }
        } else if a.isDirectory {
            let namesA = Set(try FileIO.directoryEntries(expected))
            let namesB = Set(try FileIO.directoryEntries(actual))
            for extra in namesB.subtracting(namesA) {
                problems.append("\(String(decoding: relative + [0x2f] + extra, as: UTF8.self)): unexpected")
            }
            for child in namesA.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                try compare(expected.appending(child), actual.appending(child),
                            relative: relative.isEmpty ? child : relative + [0x2f] + child, options: options,
                            problems: &problems, expectedLinks: &expectedLinks, actualLinks: &actualLinks)
            }
        } else if a.rdev != b.rdev {
            problems.append("\(name): device number differs")
        }
    }
}
