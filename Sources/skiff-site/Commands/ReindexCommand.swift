import ArgumentParser
import SkiffSite
import SkiffStorage
import SkiffSystem

/// `skiff-site reindex`: the registry rebuilt from the stores.
struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the site's indexes from its stores alone: packs, tenants, hosts, seals, heads, the identity index.",
        discussion: """
            For a site whose registry (site.sqlite) was lost or cannot be trusted. Run it with the server stopped. A lost
            registry: keep the data folder's tls/ and storage.json (or run `skiff-site init` again with the same
            storage), remove site.sqlite, then reindex: tenants and hosts come back from the records each tenant's store
            holds, and each tenant's pack index is rebuilt from its packs (trailers, else records). Tokens cannot come back (the site kept only their hashes): create them again. The audit trail,
            quarantine records and scrub passes start empty.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var output: JSONFlag

    struct Result: Encodable {
        var tenant: String
        var packs: Int
        var objects: Int
        var packsWithoutTrailer: Int
        var seals: Int
        var unverifiableSeals: [String]
        var identities: Int
    }

    func run() async throws {
        let service = try SiteCommandService.open(data, creatingRegistry: true)
        let results = try await withCleanup {
            try await service.rebuildRegistry { if !output.json { print($0) } }
        } cleanup: {
            await service.stores.shutdown()
        }
        let rows = results.map {
            Result(tenant: $0.tenant, packs: $0.packs.packs, objects: $0.packs.objects, packsWithoutTrailer: $0.packs.packsScanned, seals: $0.seals,
                   unverifiableSeals: $0.unverifiable, identities: $0.identities)
        }
        if output.json { return try output.print(rows) }
        for row in rows {
            print("tenant \(row.tenant): \(row.objects) objects in \(row.packs) packs (\(row.packsWithoutTrailer) read record by record), "
                  + "\(row.seals) seals and \(row.identities) identities indexed"
                  + (row.unverifiableSeals.isEmpty ? "" : "; left out, not verifying: \(row.unverifiableSeals.joined(separator: ", "))"))
        }
        if try service.registry.tokens().isEmpty {
            print("no tokens: create them again (skiff-site token create); the site kept only their hashes")
        }
    }
}
