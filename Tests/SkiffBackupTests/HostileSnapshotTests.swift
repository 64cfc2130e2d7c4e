import Foundation
import Glibc
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// Issue 8: a snapshot crafted with a valid host key (so every signature and AEAD check
/// passes) to escape the restore target is refused, and nothing is written outside it.
@Suite struct HostileSnapshotTests {
    /// Builds trees through the real encoder and signs a seal with the fixture's host key;
    /// `tamper` rewrites each node body before it is encrypted, which is what a host whose
    /// key was stolen could do.
    final class Crafter {
        let fixture: BackupFixture
        let session: WriteSession
        let encoder: ObjectEncoder
        let tamper: ([UInt8]) -> [UInt8]
        var objects: [EncodedObject] = []

        init(_ fixture: BackupFixture, tamper: @escaping ([UInt8]) -> [UInt8]) throws {
            self.fixture = fixture
            self.tamper = tamper
            session = try WriteSession.start(config: fixture.host.config, tenant: fixture.host.tenant, writeSecrets: fixture.host.writeSecrets)
            encoder = ObjectEncoder(session: session)
            objects = [session.keyObject]
        }

        func emit(_ kind: ObjectKind, _ children: [ObjectAddress], _ body: [UInt8]) throws -> EmittedNode {
            let object = try encoder.encode(kind: kind, children: children, body: tamper(body), compression: .lz4)
            objects.append(object)
            return EmittedNode(address: object.address, identity: object.identity!)
        }

        /// A directory node of `entries` (sorted), cut after every `itemsPerNode` entries.
        func directory(_ entries: [TreeEntry], itemsPerNode: Int = 2048) throws -> EmittedNode {
            let rule = NodeSplitRule(minItems: itemsPerNode, maskBits: 0, maxItems: itemsPerNode, maxBodyBytes: 1 << 20)
            var builder = TreeBuilder(boundaryMAC: HMACSHA256(key: fixture.host.writeSecrets.boundaryKey), rule: rule)
            for entry in entries { try builder.append(entry, emit: emit) }
            return try builder.finish(emit: emit)
        }

        /// Stores every object, then a seal whose "/" holds `root`'s entries.
        func seal(root: EmittedNode) async throws -> Seal {
            let time = TimeFormat.now()
            let record = SnapshotRecord(hostName: "web1", time: time, paths: [Array("/evil".utf8)], tags: [], summary: SnapshotSummary(), root: root.address)
            let snapshot = try encoder.encode(kind: .snapshot, children: record.children, body: record.body, compression: .lz4)
            for object in objects + [snapshot] { _ = try await fixture.repository.putObject(object) }
            try await fixture.store.flush()
            let previous = try await fixture.repository.sealNames(host: "web1").max { $0.sequence < $1.sequence }
            let seal = try Seal.make(hostKey: fixture.host, previous: try await previous.asyncMap { try await fixture.repository.seal(named: $0) },
                                     time: time, root: snapshot.address, counts: SealCounts())
            _ = try await fixture.repository.putSeal(seal)
            return seal
        }
    }

    static func directory(_ name: String, _ node: EmittedNode) -> TreeEntry {
        TreeEntry(name: Array(name.utf8), type: .directory, permissions: 0o755, content: .subtree(node.address))
    }

    static func emptyFile(_ name: String) -> TreeEntry {
        TreeEntry(name: Array(name.utf8), type: .regular, permissions: 0o644)
    }

    /// Replaces every occurrence of `placeholder` (same length) in a node body.
    static func replacing(_ placeholder: String, with name: String) -> ([UInt8]) -> [UInt8] {
        let from = Array(placeholder.utf8), to = Array(name.utf8)
        precondition(from.count == to.count)
        return { body in
            var out = body
            var index = 0
            while index + from.count <= out.count {
                if out[index..<index + from.count].elementsEqual(from) {
                    out.replaceSubrange(index..<index + from.count, with: to)
                    index += from.count
                } else {
                    index += 1
                }
            }
            return out
        }
    }

    /// Restores `seal` into a fresh target beside an empty "outside" folder; expects the
    /// restore to be refused as a damaged object and the outside folder to stay empty.
    static func expectRefused(_ fixture: BackupFixture, _ seal: Seal, reason: String) async throws {
        let outside = fixture.folder.appending("outside")
        let target = fixture.folder.appending("target")
        let error = await #expect(throws: RestoreError.self) { _ = try await fixture.restore(seal, to: target) }
        guard case .object(_, let objectError)? = error else {
            Issue.record("expected a refused object, got \(String(describing: error))")
            return
        }
        #expect("\(objectError)".contains(reason), "\(objectError)")
        #expect(try FileIO.directoryEntries(outside).isEmpty, "something was written outside the target")
        #expect(!FileIO.exists(fixture.folder.appending("pwned")))
        // A full check with the restore key finds the same node.
        let report = try await fixture.verify()
        #expect(!report.isClean)
    }

    static func prepare(_ label: String) throws -> BackupFixture {
        let fixture = try BackupFixture(label)
        try FileIO.makeDirectories(fixture.folder.appending("outside"))
        return fixture
    }

    @Test func aNameWithSlashesAndDotDotIsRefused() async throws {
        let fixture = try Self.prepare("skiff-hostile-slash")
        defer { fixture.remove() }
        let escape = "../../outside/pwned"
        let crafter = try Crafter(fixture, tamper: Self.replacing("aaaaaaaaaaaaaaaaaaa", with: escape))
        let evil = try crafter.directory([Self.emptyFile("aaaaaaaaaaaaaaaaaaa")])
        let seal = try await crafter.seal(root: try crafter.directory([Self.directory("evil", evil)]))
        try await Self.expectRefused(fixture, seal, reason: "unsafe name")
    }

    @Test func aDotDotDirectoryIsRefused() async throws {
        let fixture = try Self.prepare("skiff-hostile-dotdot")
        defer { fixture.remove() }
        let crafter = try Crafter(fixture, tamper: Self.replacing("qq", with: ".."))
        let inner = try crafter.directory([Self.emptyFile("pwned")])
        let evil = try crafter.directory([Self.directory("qq", inner)])
        let seal = try await crafter.seal(root: try crafter.directory([Self.directory("evil", evil)]))
        try await Self.expectRefused(fixture, seal, reason: "unsafe name")
    }

    /// The control for the tests below: an honest directory split into many nodes, three
    /// index levels deep, verifies clean and restores every entry.
    @Test func anHonestDeeplySplitDirectoryIsAccepted() async throws {
        let fixture = try Self.prepare("skiff-hostile-control")
        defer { fixture.remove() }
        let crafter = try Crafter(fixture, tamper: { $0 })
        let names = (0..<9).map { "file-\($0)" }
        let evil = try crafter.directory(names.map(Self.emptyFile), itemsPerNode: 2)
        let seal = try await crafter.seal(root: try crafter.directory([Self.directory("evil", evil)]))
        #expect(try await fixture.verify().isClean)
        let target = fixture.folder.appending("target")
        _ = try await fixture.restore(seal, to: target)
        let restored = try FileIO.directoryEntries(target.appending("evil")).map { String(decoding: $0, as: UTF8.self) }
        #expect(restored.sorted() == names)
    }

    /// The symlink trick: "link" is a symlink to the outside folder in one node of a split
    /// directory, and a directory "link" holding a file in the next node. Restoring the
    /// second would write through the first.
    @Test func aSymlinkFollowedByADirectoryOfTheSameNameIsRefused() async throws {
        let fixture = try Self.prepare("skiff-hostile-symlink")
        defer { fixture.remove() }
        let crafter = try Crafter(fixture, tamper: Self.replacing("linl", with: "link"))
        let inner = try crafter.directory([Self.emptyFile("pwned")])
        var link = TreeEntry(name: Array("link".utf8), type: .symlink, permissions: 0o777)
        link.linkTarget = fixture.folder.appending("outside").bytes
        link.size = UInt64(link.linkTarget.count)
        let evil = try crafter.directory([Self.emptyFile("a"), link, Self.directory("linl", inner), Self.emptyFile("z")], itemsPerNode: 2)
        let seal = try await crafter.seal(root: try crafter.directory([Self.directory("evil", evil)]))
        try await Self.expectRefused(fixture, seal, reason: "out of order")
    }

    /// The same names twice in one node (the simplest form of the trick) fail to decode.
    @Test func aRepeatedNameInOneNodeIsRefused() async throws {
        let fixture = try Self.prepare("skiff-hostile-repeat")
        defer { fixture.remove() }
        let crafter = try Crafter(fixture, tamper: Self.replacing("linl", with: "link"))
        let inner = try crafter.directory([Self.emptyFile("pwned")])
        var link = TreeEntry(name: Array("link".utf8), type: .symlink, permissions: 0o777)
        link.linkTarget = fixture.folder.appending("outside").bytes
        link.size = UInt64(link.linkTarget.count)
        let evil = try crafter.directory([link, Self.directory("linl", inner)])
        let seal = try await crafter.seal(root: try crafter.directory([Self.directory("evil", evil)]))
        try await Self.expectRefused(fixture, seal, reason: "increasing name order")
    }

    /// A symlink planted in the target (not in the snapshot) is not followed: the directory
    /// it stands in for is skipped, or with --overwrite replaced by a real directory.
    @Test func aSymlinkAlreadyInTheTargetIsNotFollowed() async throws {
        let fixture = try Self.prepare("skiff-hostile-planted")
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source.appending("docs"))
        try TreeGenerator.write(Array("report".utf8), to: fixture.source.appending("docs/report.txt"))
        let result = try await fixture.backup()
        let target = fixture.folder.appending("target")
        let planted = fixture.restored(target).appending("docs")
        try FileIO.makeDirectories(fixture.restored(target))
        let outside = fixture.folder.appending("outside")
        _ = outside.withCString { from in planted.withCString { symlink(from, $0) } }

        let report = try await fixture.restore(result.seal, to: target)
        #expect(report.skippedExisting.contains { $0.hasSuffix("/docs") }, "\(report.skippedExisting)")
        #expect(try FileIO.directoryEntries(outside).isEmpty)

        var options = RestoreOptions()
        options.overwrite = true
        _ = try await fixture.restore(result.seal, to: target, options: options)
        #expect(try FileIO.directoryEntries(outside).isEmpty)
        #expect(try FileIO.readFile(planted.appending("report.txt")) == Array("report".utf8))
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
