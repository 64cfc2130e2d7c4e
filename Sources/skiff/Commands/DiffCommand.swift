import ArgumentParser
import Foundation
import SkiffCore
import SkiffRestore
import SkiffStorage
import SkiffSystem

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare a folder with a snapshot: content, types and metadata.",
        discussion: """
            DIR is where the snapshot's "/" lies: the --to folder of a restore, or / to compare with the live system.
            Content is compared with the snapshot's verified chunks. Exit code 0: identical; 9: differences (listed).
            """)

    @Argument(help: ArgumentHelp("[SNAPSHOT] DIR: the snapshot (latest, an id prefix, or host#sequence; default latest) and the folder to compare.", valueName: "SNAPSHOT-AND-DIR"))
    var positionals: [String]
    @OptionGroup var selection: SnapshotSelection
    @Option(name: .long, help: ArgumentHelp("Only this file or directory of the snapshot.", valueName: "PATH"))
    var path: String?
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func validate() throws {
        guard (1...2).contains(positionals.count) else {
            throw ValidationError("Give the folder to compare, optionally preceded by a snapshot: skiff diff [SNAPSHOT] DIR")
        }
    }

    private var positionalSnapshot: String? { positionals.count == 2 ? positionals[0] : nil }
    private var directory: String { positionals[positionals.count - 1] }

    func run() async throws {
        let selector = try selection.selector(positional: positionalSnapshot)
        let key = try KeyFiles.restoreKey(restoreKey, passphrase: PassphraseSource(file: passphraseFile))
        let differences = try await ReadableRepository.usingAll(repository, sites, tenant: key.publicKey) { repositories in
            let chosen = try await ChosenSnapshot.choose(selector, from: repositories, tenant: key.publicKey, host: selection.host)
            FileHandleOutput.standardError("\(chosen.description)\n")
            let reader = ObjectReader(repositories: chosen.sources, restoreKey: key)
            let record = try await reader.snapshot(chosen.seal.root)
            var options = TreeDiffer.Options()
            if !ReadableRepository.isLocal(repository, sites) { RemoteTuning().apply(to: &options) }
            return try await TreeDiffer(reader: reader, options: options).differences(root: record.root, subPath: path.map { RawPath($0) },
                                                                                      directory: try RawPath(directory).absolute())
        }
        if output.json {
            try JSONOutput.print(differences)
        } else {
            for difference in differences { print(difference) }
            print(differences.isEmpty ? "identical" : "\(differences.count) differences")
        }
        if !differences.isEmpty { throw ExitCode(ExitStatus.differs.rawValue) }
    }
}
