import Glibc
import SkiffSystem

/// Builds deterministic test trees with the awkward cases backup tools get wrong.
package enum TreeGenerator {
    package struct Options: Sendable {
        package var seed: UInt64 = 42
        package var directories = 40
        package var filesPerDirectory = 25
        /// Sizes of a few larger files, in bytes.
        package var largeFileSizes: [Int] = [3 << 20, 9 << 20 + 12345]
        package var depth = 12

        package init() {}
    }

    /// Writes a tree under `root` and returns how many regular files it holds.
    @discardableResult
    package static func generate(at root: RawPath, options: Options = Options()) throws -> Int {
        var random = SeededRandom(seed: options.seed)
        var files = 0
        try FileIO.makeDirectories(root)
        var folders: [RawPath] = [root]
        for d in 0..<options.directories {
            let parent = folders[Int(random.next() % UInt64(folders.count))]
            let folder = parent.appending("dir\(d)")
            try FileIO.makeDirectories(folder)
            folders.append(folder)
        }
        for folder in folders {
            for f in 0..<options.filesPerDirectory {
                let kind = random.next() % 10
                let size: Int
                switch kind {
                case 0: size = 0
                case 1: size = 1
                case 2...5: size = Int(random.next() % 4096)
                case 6...8: size = Int(random.next() % 200_000)
                default: size = 200_000 + Int(random.next() % 600_000)
                }
                let content = kind % 2 == 0 ? random.text(size) : random.bytes(size)
                try write(content, to: folder.appending("file\(f).\(kind % 2 == 0 ? "txt" : "bin")"))
                files += 1
            }
        }
        for (index, size) in options.largeFileSizes.enumerated() {
            try write(random.bytes(size / 2) + random.text(size - size / 2), to: root.appending("large\(index).dat"))
            files += 1
        }
        // Deep path.
        var deep = root
        for level in 0..<options.depth { deep = deep.appending("level\(level)") }
        try FileIO.makeDirectories(deep)
        try write(Array("at the bottom\n".utf8), to: deep.appending("deep.txt"))
        files += 1
        // Names that are not UTF-8, or that look odd.
        let odd = root.appending("names")
        try FileIO.makeDirectories(odd)
        for name in [[0x66, 0xff, 0xfe, 0x2e, 0x74], [0xc3, 0x28], Array("with space".utf8), Array("tab\there".utf8),
                     Array("newline\nname".utf8), Array("-dash".utf8), Array("ünïcødé".utf8), Array("..dots".utf8)] as [[UInt8]] {
            try write(random.bytes(100), to: odd.appending(name))
            files += 1
        }
        // Empty directory, symlinks (relative, absolute, dangling), hard links.
        try FileIO.makeDirectories(root.appending("empty-dir"))
        try symlink("file0.txt", at: root.appending("link-relative"))
        try symlink("/etc/hostname", at: root.appending("link-absolute"))
        try symlink("does/not/exist", at: root.appending("link-dangling"))
        try symlink("dir0", at: root.appending("link-to-dir"))
        try write(Array("shared inode\n".utf8), to: root.appending("hardlink-a"))
        files += 1
        let linked = root.appending("hardlink-a").withCString { a in root.appending("hardlink-b").withCString { link(a, $0) } }
        guard linked == 0 else { throw SystemError("link") }
        files += 1
        return files
    }

    package static func write(_ bytes: [UInt8], to path: RawPath) throws {
        let fd = try FileIO.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: path.description) }
    }

    package static func symlink(_ target: String, at path: RawPath) throws {
        guard path.withCString({ Glibc.symlink(target, $0) }) == 0 else { throw SystemError("symlink", path: path.description) }
    }
}
