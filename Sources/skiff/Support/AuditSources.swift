import ArgumentParser
import Foundation
import SkiffAudit
import SkiffConfig
import SkiffCore
import SkiffSiteClient
import SkiffSystem

/// What `audit` and `heal` read: the pinned tenant key, the audit state, and the sources.
struct AuditOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The tenant's public key (tenant.pub): the trust anchor. Seals count only when signed by hosts it certified.", valueName: "FILE"))
    var tenantKey: String
    @Option(name: .long, help: ArgumentHelp("The audit state (SQLite): what earlier audits verified (default: audit.sqlite in the configuration's state_dir).", valueName: "FILE"))
    var state: String?
    @Option(name: .long, help: ArgumentHelp("Re-read this percentage of the objects earlier audits verified, chosen at random (0 to 100).", valueName: "PERCENT"))
    var sample: Double = 0
    @Flag(name: .long, help: "Re-read every object, whatever earlier audits verified.")
    var deep = false

    func validate() throws {
        guard (0...100).contains(sample) else { throw ValidationError("--sample takes a percentage from 0 to 100") }
    }

    var walkOptions: WalkOptions { WalkOptions(samplePercent: sample, deep: deep) }

    func tenant() throws -> TenantPublicKey { try KeyFiles.tenantPublicKey(path: tenantKey) }

    func openState(configuration: HostConfiguration?) throws -> AuditState {
        let path = RawPath(state ?? (configuration?.stateLayout ?? HostStateLayout(stateFolder: HostDefaults.stateDirectory)).auditState)
        do { return try AuditState(path: path) } catch {
            throw CommandFailure(.failure, "cannot open the audit state \(path): \(error)")
        }
    }
}

/// Connected audit sources; `close()` shuts their clients down.
struct ConnectedSources {
    var sources: [AuditSource] = []
    var clients: [String: SiteClient] = [:]
    /// Sites that could not be connected to, with why.
    var unreachable: [(String, String)] = []

    /// Each named site of the configuration (or all), connected with its token.
    static func sites(_ configuration: HostConfiguration, names: [String], tenant: TenantID, tokenOverrides: [String: String] = [:]) async throws -> ConnectedSources {
        var connected = ConnectedSources()
        var endpoints = try SiteOptions.endpoints(configuration)
        for name in names where !endpoints.contains(where: { $0.name == name }) {
            throw CommandFailure(.usage, "no site \(name) in \(configuration.file)")
        }
        if !names.isEmpty { endpoints = names.compactMap { name in endpoints.first { $0.name == name } } }
        // Every token file is read before the first connection, so a bad one leaves no client open.
        for index in endpoints.indices {
            if let file = tokenOverrides[endpoints[index].name] {
                endpoints[index].token = try KeyFiles.readText(file, what: "token file").trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        for endpoint in endpoints {
            do {
                let client = try await SiteClient.connect(endpoint, tenant: tenant)
                connected.clients[endpoint.name] = client
                connected.sources.append(AuditSource(site: client))
            } catch {
                connected.unreachable.append((endpoint.name, "\(error)"))
            }
        }
        return connected
    }

    func close() async {
        for client in clients.values { try? await client.shutdown() }
    }
}
