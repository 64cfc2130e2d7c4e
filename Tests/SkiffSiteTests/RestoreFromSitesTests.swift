import Foundation
import Glibc
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Testing

/// Issue 8's acceptance, against real sites: fidelity, and damage at one site.
@Suite(.serialized) struct RestoreFromSitesTests {
    static var isRoot: Bool { geteuid() == 0 }

    /// A tree with every type a system holds, and the metadata that matters.
    static func everyKindOfEntry(at root: RawPath) async throws {
        try FileIO.makeDirectories(root.appending("dir/sub"))
        try FileIO.makeDirectories(root.appending("empty"))
        var random = SeededRandom(seed: 11)
        try TreeGenerator.write(random.bytes(300_000), to: root.appending("dir/data.bin"))
        try TreeGenerator.write([], to: root.appending("empty-file"))
        try TreeGenerator.write(Array("non-UTF-8\n".utf8), to: root.appending([0x6e, 0xff, 0x6f]))
        // Sparse: 64 MiB with 8 KiB of data in the middle.
        let sparse = root.appending("sparse.img")
        let fd = try FileIO.open(sparse, flags: O_WRONLY | O_CREAT, mode: 0o640)
        try random.bytes(8192).withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 32 << 20, path: "sparse") }
        #expect(ftruncate(fd, 64 << 20) == 0)
        close(fd)
        // Hard links, symlinks, a fifo, a device node.
        try TreeGenerator.write(Array("linked\n".utf8), to: root.appending("dir/hard-a"))
        #expect(root.appending("dir/hard-a").withCString { a in root.appending("dir/sub/hard-b").withCString { link(a, $0) } } == 0)
        try TreeGenerator.symlink("../empty-file", at: root.appending("dir/link"))
        try TreeGenerator.symlink("/nonexistent/target", at: root.appending("dangling"))
        #expect(root.appending("fifo").withCString { mkfifo($0, 0o620) } == 0)
        if isRoot {
            #expect(root.appending("null-device").withCString { mknod($0, S_IFCHR | 0o666, dev_t(skiffMakedev(1, 3))) } == 0)
        }
        // setuid, setgid and sticky bits.
        try TreeGenerator.write([0x23, 0x21], to: root.appending("setuid-tool"))
        #expect(root.appending("setuid-tool").withCString { chmod($0, 0o4755) } == 0)
        #expect(root.appending("dir/sub").withCString { chmod($0, 0o3775) } == 0)
        // Extended attributes, a POSIX ACL, a file capability.
        try ExtendedAttributes.set(root.appending("dir/data.bin"), name: Array("user.comment".utf8), value: Array("kept".utf8))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setfacl") {
            let acl = try await CommandRunner.run("/usr/bin/setfacl", ["-m", "u:nobody:r--", root.appending("dir/data.bin").description])
            #expect(acl.status == 0, "\(acl)")
        }
        if isRoot {
            // vfs_cap_data revision 2, effective, permitted = CAP_NET_BIND_SERVICE (10).
            var capability = ByteWriter()
            capability.u32(0x0200_0001); capability.u32(1 << 10); capability.u32(0); capability.u32(0); capability.u32(0)
            try ExtendedAttributes.set(root.appending("setuid-tool"), name: Array("security.capability".utf8), value: capability.bytes)
            #expect(root.appending("dir/data.bin").withCString { chown($0, 65534, 65534) } == 0)
        }
        // Nanosecond times (after all content and attribute changes).
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_650_000_000, tv_nsec: 987_654_321)]
        for path in ["dir/data.bin", "empty-file", "sparse.img", "setuid-tool", "dir/sub"] {
            #expect(root.appending(path).withCString { utimensat(AT_FDCWD, $0, &times, 0) } == 0)
        }
    }

    @Test(.enabled(if: RestoreFromSitesTests.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync")))
    func everyKindOfEntryRestoresExactly() async throws {
        let farm = try await SiteFarm(sites: 2, label: "skiff-fidelity")
        defer { farm.remove() }
        try await Self.everyKindOfEntry(at: farm.source)
        let backup = try await farm.backup()
        #expect(backup.status == 0, "\(backup)")
        let target = farm.folder.appending("restored")
        let restore = try await farm.skiff(["restore", "latest", "--config", farm.adminConfiguration, "--restore-key",
                                      farm.folder.appending("tenant.key").description, "--to", target.description, "--verify"])
        #expect(restore.status == 0, "\(restore)")
        let restored = RawPath(bytes: target.bytes + farm.source.bytes)
        let rsync = try await CommandRunner.run("/usr/bin/rsync", ["-naHAXS", "--checksum", "--itemize-changes", farm.source.description + "/", restored.description + "/"])
        #expect(rsync.status == 0, "\(rsync)")
        let changes = rsync.standardOutput.split(separator: "\n").filter { !$0.isEmpty }
        #expect(changes.isEmpty, "rsync sees differences:\n\(changes.joined(separator: "\n"))")
        let sparse = try FileStatus.lstat(restored.appending("sparse.img"))
        #expect(sparse.size == 64 << 20)
        #expect(sparse.blocks * 512 < 1 << 20, "the hole must stay a hole (\(sparse.blocks) blocks)")
        let diff = try await farm.skiff(["diff", "--config", farm.adminConfiguration, "--restore-key", farm.folder.appending("tenant.key").description, target.description])
        #expect(diff.status == 0, "\(diff)")
        // And diff notices a change.
        try TreeGenerator.write(Array("changed".utf8), to: restored.appending("empty-file"))
        let changed = try await farm.skiff(["diff", "--config", farm.adminConfiguration, "--restore-key", farm.folder.appending("tenant.key").description, target.description])
        #expect(changed.status == 9, "\(changed)")
        #expect(changed.standardOutput.contains("empty-file"))
    }

    @Test func damageAtOneSiteIsReadFromTheOtherAndReported() async throws {
        let farm = try await SiteFarm(sites: 2, label: "skiff-damage")
        defer { farm.remove() }
        var options = TreeGenerator.Options()
        options.directories = 4
        options.filesPerDirectory = 6
        options.largeFileSizes = [5 << 20]
        try TreeGenerator.generate(at: farm.source, options: options)
        #expect(try await farm.backup().status == 0)
        // At site a: corrupt one chunk, delete another.
        let folder = farm.tenantFolder(0)
        let chunks = try folder.objectNames().sorted().filter { try ObjectHeader.parse(folder.bytes($0)).kind == .chunk }
        let corruptName = chunks[0], deletedName = chunks[chunks.count - 1]
        try folder.flipByte(corruptName, at: try folder.place(corruptName).length / 2, mask: 0x20)
        try folder.remove(deletedName)

        let target = farm.folder.appending("restored")
        // --site-order listed reads site a first for every object, so both bad copies are met.
        let restore = try await farm.skiff(["restore", "latest", "--config", farm.adminConfiguration, "--site", "site-a", "--site", "site-b", "--site-order", "listed",
                                      "--restore-key", farm.folder.appending("tenant.key").description, "--to", target.description])
        #expect(restore.status == 0, "\(restore)")
        #expect(try TreeComparison.differences(farm.source, RawPath(bytes: target.bytes + farm.source.bytes)).isEmpty)
        let reports = restore.standardError.split(separator: "\n").filter { $0.hasPrefix("damaged copy, read elsewhere: site site-a") }
        #expect(reports.contains { $0.contains(corruptName) && !$0.contains("missing") }, "\(restore.standardError)")
        #expect(reports.contains { $0.contains(deletedName) && $0.contains("missing") }, "\(restore.standardError)")
        // verify against site a names both.
        let verify = try await farm.skiff(["verify", "--config", farm.adminConfiguration, "--site", "site-a",
                                     "--restore-key", farm.folder.appending("tenant.key").description])
        #expect(verify.status == 6, "\(verify)")
        #expect(verify.standardOutput.contains(corruptName) && verify.standardOutput.contains(deletedName), "\(verify)")
        // With site a alone, the restore fails and names the damage.
        let alone = try await farm.skiff(["restore", "latest", "--config", farm.adminConfiguration, "--site", "site-a",
                                    "--restore-key", farm.folder.appending("tenant.key").description, "--to", farm.folder.appending("alone").description])
        #expect(alone.status == 6, "\(alone)")
    }
}

/// makedev, which Glibc exposes only as a macro.
func skiffMakedev(_ major: UInt32, _ minor: UInt32) -> UInt64 {
    (UInt64(major & 0xfffff000) << 32) | (UInt64(major & 0xfff) << 8) | (UInt64(minor & 0xffffff00) << 12) | UInt64(minor & 0xff)
}
