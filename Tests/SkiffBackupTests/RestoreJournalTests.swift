import SkiffCore
import SkiffRestore
import SkiffSystem
import SkiffTestSupport
import Testing

/// The restore journal's claim on an empty target (`E`): files then need no record of their
/// own before they are created, and a resumed restore still takes them as its own.
@Suite struct RestoreJournalTests {
    static let seal = Digest256(bytes: [UInt8](repeating: 7, count: 32))

    @Test func anEmptyTargetIsClaimedAndTheClaimSurvivesAKill() throws {
        let folder = try TemporaryDirectory("skiff-journal")
        defer { folder.remove() }
        let target = folder.appending("target")
        let journals = folder.appending("journals").description
        let first = try RestoreJournal(folder: journals, target: target.description, seal: Self.seal)
        #expect(!first.isResuming && !first.ownsTarget)
        try first.claimTargetIfEmpty(target)
        #expect(first.ownsTarget && first.wasStarted(Array("any/file".utf8)))
        try first.markStarted(Array("a".utf8))
        try first.markDone(Array("a".utf8), bytes: 10)
        try first.flush()
        #expect(!(try FileIO.readFile(RawPath(first.path)).split(separator: 0x0a).contains { $0.first == UInt8(ascii: "S") }),
                "no S record once the target is claimed")

        let resumed = try RestoreJournal(folder: journals, target: target.description, seal: Self.seal)
        #expect(resumed.isResuming && resumed.ownsTarget && resumed.isDone(Array("a".utf8)))
        #expect(resumed.wasStarted(Array("b".utf8)), "every file in a claimed target is the restore's own")
        // A claim is made once: what the target holds now is the restore's, not a reason to give up the claim.
        try FileIO.makeDirectories(target)
        try TreeGenerator.write(Array("partial".utf8), to: target.appending("b"))
        try resumed.claimTargetIfEmpty(target)
        #expect(resumed.ownsTarget)
    }

    @Test func aTargetWithFilesIsNotClaimedButAnEmptyLostAndFoundIs() throws {
        let folder = try TemporaryDirectory("skiff-journal")
        defer { folder.remove() }
        let journals = folder.appending("journals").description
        let occupied = folder.appending("occupied")
        try FileIO.makeDirectories(occupied)
        try TreeGenerator.write(Array("mine".utf8), to: occupied.appending("mine.txt"))
        let kept = try RestoreJournal(folder: journals, target: occupied.description, seal: Self.seal)
        try kept.claimTargetIfEmpty(occupied)
        #expect(!kept.ownsTarget && !kept.wasStarted(Array("mine.txt".utf8)))
        try kept.markStarted(Array("new.txt".utf8))
        let reread = try RestoreJournal(folder: journals, target: occupied.description, seal: Self.seal)
        #expect(reread.wasStarted(Array("new.txt".utf8)) && !reread.wasStarted(Array("mine.txt".utf8)))

        let fresh = folder.appending("fresh")
        try FileIO.makeDirectories(fresh.appending("lost+found"))
        let claimed = try RestoreJournal(folder: journals, target: fresh.description, seal: Self.seal)
        try claimed.claimTargetIfEmpty(fresh)
        #expect(claimed.ownsTarget, "a new filesystem's empty lost+found is not in the way")

        let found = folder.appending("found")
        try FileIO.makeDirectories(found.appending("lost+found"))
        try TreeGenerator.write(Array("#12".utf8), to: found.appending("lost+found/#12"))
        let notClaimed = try RestoreJournal(folder: journals, target: found.description, seal: Self.seal)
        try notClaimed.claimTargetIfEmpty(found)
        #expect(!notClaimed.ownsTarget)
    }
}
