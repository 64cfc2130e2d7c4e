import ArgumentParser
import SkiffStorage
import SkiffSystem

/// `skiff reindex`: a local repository's pack index rebuilt from its packs.
struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild a local repository's pack index from its packs alone. Needs no key.",
        discussion: """
            The index (index/packs.sqlite in the repository) says where each object is in the pack files; it is a \
            cache of what the packs hold (docs/FORMAT.md §7.1, P4). A repository whose index file is missing \
            rebuilds it by itself; run this one when the index is damaged or cannot be trusted. Each pack is read \
            from its trailer, or record by record when it has none (a backup killed while writing it), up to the \
            first torn record. Every object gets the age "now": a prune right after keeps what it cannot judge for \
            its grace period. Holds the repository's lock as a prune does.

            Exit codes: 0 done, 4 no repository there, 11 a backup or prune is using the repository.
            """)

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        var packs: Int
        var objects: Int
        var packsWithoutTrailer: Int
    }

    func run() async throws {
        let path = try repository.path
        let root = RawPath(path)
        guard FileIO.isDirectory(root), FileIO.exists(root.appending("config")) else {
            throw CommandFailure(.noRepository, "no Skiff repository at \(path) (create one with `skiff init --repo \(path)`)")
        }
        guard let lock = try RepositoryLock.attempt(.exclusive, repository: root) else {
            throw CommandFailure(.busy, "\(path) is in use by a backup or prune; nothing was changed (try again once it has finished)")
        }
        defer { lock.release() }
        // The old index may not even open as a database: it goes, and is written anew.
        let index = PackedStore.indexFile(in: root)
        for file in [index.description, index.description + "-wal", index.description + "-shm"] { try FileIO.remove(RawPath(file)) }
        let store = try PackedStore(folder: try FileSystemStore(root: root))
        let report = try await store.reindex()
        let result = Result(packs: report.packs, objects: report.objects, packsWithoutTrailer: report.packsScanned)
        if output.json { return try JSONOutput.print(result) }
        print("\(result.objects) objects in \(result.packs) packs indexed (\(result.packsWithoutTrailer) read record by record)")
    }
}
