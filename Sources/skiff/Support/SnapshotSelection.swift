import ArgumentParser
import Foundation
import SkiffCore
import SkiffGraph
import SkiffRestore
import SkiffStorage

/// `--snapshot`, `--at` and `--host`: which snapshot to use.
struct SnapshotSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Exactly this snapshot: an id (at least 6 hex digits), host#sequence, or latest.", valueName: "ID"))
    var snapshot: String?
    @Option(name: .long, help: ArgumentHelp("The newest snapshot at or before this time (ISO 8601, 'YYYY-MM-DD HH:MM' local time, or -2h, -1d).", valueName: "TIME"))
    var at: String?
    @Option(name: .long, help: "Choose among this host's snapshots.")
    var host: String?

    /// The selector, from these options or a positional snapshot argument.
    func selector(positional: String?) throws -> SnapshotSelector {
        let id = snapshot ?? positional
        if id != nil && at != nil { throw CommandFailure(.usage, "give a snapshot id or --at, not both") }
        if let at {
            guard let time = TimeFormat.parse(at) else { throw CommandFailure(.usage, "cannot read the time \(at)") }
            return .at(time, host: host)
        }
        if let id, id != "latest" { return .id(id) }
        return .latest(host: host)
    }
}

/// A snapshot chosen among the seals of every source, with the sources that hold it first.
struct ChosenSnapshot {
    let seal: Seal
    let holders: [String]
    /// All sources, those holding the seal first.
    let sources: [Repository]

    /// Reads and verifies the seals at every source, merges them and applies `selector`.
    /// Problems with the chosen seal stop here; other problems are warnings.
    static func choose(_ selector: SnapshotSelector, from repositories: [Repository], tenant: TenantPublicKey, host: String?) async throws -> ChosenSnapshot {
        var catalogs: [(source: String, catalog: SealCatalog)] = []
        var lastError: (any Error)?
        for repository in repositories {
            do {
                catalogs.append((repository.location, try await SealCatalog.load(repository: repository, tenant: tenant, host: host)))
            } catch {
                FileHandleOutput.standardError("warning: cannot list the seals at \(repository.location): \(error)\n")
                lastError = error
            }
        }
        guard !catalogs.isEmpty else { throw lastError ?? CommandFailure(.failure, "no source to read from") }
        let (catalog, problems) = SealCatalog.merged(catalogs)
        let seal = try catalog.select(selector)
        for (source, problem) in problems {
            if problem.involvedSeals.contains(seal.name) && catalogs.count == 1 { throw problem }
            FileHandleOutput.standardError("warning: \(source): \(problem)\n")
        }
        let holders = catalog.holders[seal.hash] ?? []
        let ordered = repositories.filter { holders.contains($0.location) } + repositories.filter { !holders.contains($0.location) }
        return ChosenSnapshot(seal: seal, holders: holders, sources: ordered)
    }

    var description: String {
        "snapshot \(seal.hash.hex.prefix(12)) of \(seal.hostName) (#\(seal.sequence)), sealed \(TimeFormat.local(seal.time)), held by \(holders.joined(separator: ", "))"
    }
}
