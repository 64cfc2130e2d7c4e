import ArgumentParser
import Foundation
import SkiffBackup
import SkiffGraph
import SkiffStorage

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete the objects of a local repository that no snapshot reaches (left by interrupted backups). Needs no key.",
        discussion: """
            Follows the clear links of object headers from every seal, as a site's garbage collection does, \
            deletes the unreachable objects stored longer ago than --grace from the pack index, then rewrites the \
            packs whose garbage reaches a quarter of them (and merges small ones), reporting the space reclaimed. An \
            interrupted prune loses nothing: the next run finishes.

            A backup into the repository excludes a prune (flock on the repository's lock file): prune refuses \
            while a backup writes, and a backup that starts while prune runs waits for it (docs/FORMAT.md §8, L1–L4).

            Exit codes: 0 done, 2 usage (a bad --grace), 4 no repository there, 6 an object a snapshot reaches is \
            missing or damaged (nothing deleted; run `skiff verify`), 11 a backup is writing into the repository \
            (nothing deleted; try again later).
            """)

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp(
        "Keep unreachable objects stored within this time: 90s, 15m, 36h, 14d, 2w (default 24h; 0s: delete every unreachable object).",
        valueName: "DURATION"))
    var grace = "24h"
    @Flag(name: .long, help: "Report what would be deleted; change nothing.")
    var dryRun = false

    func validate() throws {
        guard TimeFormat.parseDuration(grace) != nil else { throw ValidationError("--grace takes a duration such as 90s, 15m, 36h, 14d or 2w") }
    }

    func run() async throws {
        let repo = try await repository.open()
        guard let store = repo.store as? any CollectableStore, let folder = repo.localFolder else {
            throw CommandFailure(.noRepository, "\(repo.location) is not a local repository")
        }
        let pruner = RepositoryPruner(repository: repo, store: store, folder: folder, graceSeconds: TimeFormat.parseDuration(grace)!, dryRun: dryRun)
        let report: PruneReport
        do {
            report = try await pruner.prune()
        } catch let busy as RepositoryPruner.Busy {
            throw CommandFailure(.busy, busy.description)
        } catch let error as CollectionError {
            throw CommandFailure(.integrity, "prune stopped, \(error); run `skiff verify --repo \(repo.location)`")
        }
        if output.json { return try JSONOutput.print(report) }
        let counts = report.counts
        let verb = report.dryRun ? "would delete" : "deleted"
        print("\(report.dryRun ? "dry run: " : "")\(verb) \(counts.deletedObjects) objects (\(Units.bytes(counts.deletedBytes))) of \(counts.examined)")
        print("  kept: \(counts.reachable) reachable from \(counts.roots) seals, \(counts.keptYoung) unreachable but younger than \(TimeFormat.duration(report.graceSeconds))")
        if counts.recovered > 0 {
            print("  \(counts.recovered) objects \(report.dryRun ? "are in the trash (an interrupted prune) and would be put back" : "put back from the trash of an interrupted prune")")
        }
        if counts.putBack > 0 { print("  \(counts.putBack) objects put back: they were written to while prune ran") }
        if !report.dryRun { print("  space: \(counts.compaction.summary)") }
        print(String(format: "  time: %.2f s", report.seconds))
    }
}
