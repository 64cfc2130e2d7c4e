import Glibc
import SkiffBackup
import SkiffCore
import SkiffSystem
import SkiffTestSupport
import Testing

/// The cache's directory rows (`LocalCache+Directories`, `CachedListing`): one read per
/// directory decides its entries, and a directory whose entries all match keeps its node.
@Suite struct DirectoryCacheTests {
    static func stamp(_ n: Int64) -> EntryStamp {
        EntryStamp(mode: 0o100644, inode: UInt64(n), size: n * 10, modificationTime: n * 1_000, changeTime: n * 2_000, accessTime: n * 3_000)
    }

    static func address(_ n: UInt8) -> ObjectAddress { ObjectAddress(Digest256(bytes: [UInt8](repeating: n, count: 32))) }

    static let sample: [(name: String, content: ContentReference?)] = [
        ("a.txt", .chunk(address(1))), ("b", .subtree(address(2))), ("big.iso", .list(address(3))),
        ("empty", ContentReference.none), ("live.db", nil), ("z", .chunk(address(4))),
    ]

    static func listing() throws -> CachedListing {
        var builder = CachedListing.Builder()
        for (index, entry) in sample.enumerated() { builder.append(name: Array(entry.name.utf8), stamp: stamp(Int64(index + 1)), content: entry.content) }
        return try #require(builder.listing)
    }

    @Test func aListingFindsEveryNameWithItsStampAndContent() throws {
        let listing = try Self.listing()
        #expect(listing.count == Self.sample.count)
        for (position, entry) in Self.sample.enumerated() {
            let index = try #require(listing.index(of: Array(entry.name.utf8)), "\(entry.name)")
            #expect(index == position)
            #expect(listing.name(at: index) == Array(entry.name.utf8))
            #expect(listing.stamp(at: index) == Self.stamp(Int64(position + 1)))
            #expect(listing.content(at: index) == entry.content, "\(entry.name)")
        }
        for absent in ["", "A", "a", "a.txt2", "c", "zz"] { #expect(listing.index(of: Array(absent.utf8)) == nil, "\(absent)") }
        #expect(CachedListing(bytes: listing.bytes) == listing)
        #expect(CachedListing(bytes: [])?.count == 0)
    }

    @Test func aDamagedListingIsNotUsed() throws {
        let bytes = try Self.listing().bytes
        for cut in [1, 2, 10, bytes.count - 1] { #expect(CachedListing(bytes: Array(bytes.prefix(cut))) == nil, "cut at \(cut)") }
        var unknownKind = bytes
        unknownKind[2 + 5] = 9  // the first entry ("a.txt") is followed by its content kind
        #expect(CachedListing(bytes: unknownKind) == nil)
        var emptyName = bytes
        emptyName[0] = 0
        emptyName[1] = 0
        #expect(CachedListing(bytes: emptyName) == nil)
        var outOfOrder = CachedListing.Builder()
        outOfOrder.append(name: Array("b".utf8), stamp: Self.stamp(1), content: ContentReference.none)
        outOfOrder.append(name: Array("a".utf8), stamp: Self.stamp(2), content: ContentReference.none)
        #expect(outOfOrder.listing == nil)
        var repeated = CachedListing.Builder()
        repeated.append(name: Array("a".utf8), stamp: Self.stamp(1), content: ContentReference.none)
        repeated.append(name: Array("a".utf8), stamp: Self.stamp(2), content: ContentReference.none)
        #expect(repeated.listing == nil)
    }

    @Test func keepingDropsOnlyEntriesWhoseObjectIsGone() throws {
        let kept = try Self.listing().keeping([Self.address(1), Self.address(4)])
        #expect((0..<kept.count).map { String(decoding: kept.name(at: $0), as: UTF8.self) } == ["a.txt", "empty", "live.db", "z"])
    }

    /// Nothing changed: every directory keeps its node, no file is read and no node is
    /// encoded, except those of the folders above the source (other tests write in them).
    @Test func anUnchangedTreeKeepsEveryDirectoryNode() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try fixture.generateSmallFiles()
        let first = try await fixture.backup()
        let second = try await fixture.backup()
        let s = second.statistics
        #expect(s.filesRead == 0 && s.filesUnchanged == first.statistics.filesSeen, "\(s)")
        let above = fixture.source.components.count  // "/" and the folders down to the source's parent
        #expect(s.nodesNew <= above && s.nodesReused == 0, "no node below the source is even encoded: \(s)")
        #expect(s.directoriesUnchanged >= first.statistics.directories - above, "\(s)")
        #expect(s.objectsStored == 2 + s.nodesNew, "the snapshot, the session key and the nodes above: \(s)")
        #expect(s.logicalBytes == first.statistics.logicalBytes && s.directories == first.statistics.directories)
    }

    /// An attribute set on one file changes its ctime: that file is read again and the
    /// directories above it get new nodes that carry the attribute; nothing else changes.
    @Test func aChangedAttributeRebuildsOnlyThePathAboveIt() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try fixture.generateSmallFiles()
        _ = try await fixture.backup()
        let file = fixture.source.appending("level0").appending("marked.txt")
        try TreeGenerator.write(Array("mark\n".utf8), to: file)
        _ = try await fixture.backup()
        do {
            try ExtendedAttributes.set(file, name: Array("user.skiff-test".utf8), value: Array("yes".utf8))
        } catch {
            return  // the test filesystem has no user attributes: nothing to check here
        }
        let second = try await fixture.backup()
        let s = second.statistics
        let depth = fixture.source.components.count + 2  // "/" down to level0
        #expect(s.filesRead == 1 && s.chunksNew == 0, "\(s)")
        #expect(s.nodesNew == depth, "\(s)")
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(second.seal, to: target)
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    /// A file given by itself is looked up in its parent's (partial) row: not read again.
    @Test func aFileGivenAloneIsTakenFromItsDirectorysRow() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source)
        let file = fixture.source.appending("alone.bin")
        var random = SeededRandom(seed: 5)
        try TreeGenerator.write(random.bytes(200_000), to: file)
        _ = try await fixture.backup([file])
        let second = try await fixture.backup([file])
        #expect(second.statistics.filesRead == 0 && second.statistics.filesUnchanged == 1, "\(second.statistics)")
        #expect(second.statistics.nodesNew <= fixture.source.components.count, "only folders above it, which other tests change: \(second.statistics)")
    }

    /// A row made for a directory above the paths backed up holds only the entries leading
    /// to them: the agent's reuse without walking must not take it for the whole directory.
    @Test func aPartialRowNeverStandsForTheWholeDirectory() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        let inner = fixture.source.appending("inner")
        try FileIO.makeDirectories(inner.appending("kept"))
        try TreeGenerator.write(Array("one\n".utf8), to: inner.appending("kept/one.txt"))
        try TreeGenerator.write(Array("two\n".utf8), to: inner.appending("two.txt"))
        _ = try await fixture.backup([inner.appending("kept")])
        var options = BackupOptions()
        options.unchangedDirectories = { _ in true }
        let whole = try await fixture.backup([fixture.source], options: options)
        #expect(whole.statistics.subtreesReused == 1, "only inner/kept, walked whole before: \(whole.statistics)")
        let target = fixture.folder.appending("restore")
        _ = try await fixture.restore(whole.seal, to: target)
        let differences = try TreeComparison.differences(fixture.source, fixture.restored(target))
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }
}
