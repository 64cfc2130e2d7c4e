import ArgumentParser
import Foundation
import Logging
import SkiffConfig
import SkiffCore
import SkiffReplication
import SkiffSiteClient
import SkiffStorage
import SkiffSystem

/// `--config FILE` and `--site NAME`: the host configuration and a site in it.
struct SiteOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Host configuration file (default: /etc/skiff/skiff.yaml for root, ~/.config/skiff/skiff.yaml otherwise).", valueName: "FILE"))
    var config: String?
    @Option(name: .long, help: ArgumentHelp("Use this site of the configuration (for reading: snapshots, restore, verify).", valueName: "NAME"))
    var site: String?

    var configurationPath: String { config ?? HostConfiguration.defaultPath }

    /// The configuration, or nil when none was given and the default file does not exist.
    func loadIfPresent() throws -> HostConfiguration? {
        if config == nil && !FileManager.default.fileExists(atPath: configurationPath) { return nil }
        return try load()
    }

    func load() throws -> HostConfiguration {
        do { return try HostConfiguration.load(path: configurationPath) } catch let error as ConfigurationError {
            throw CommandFailure(.usage, "\(error)")
        }
    }

    /// The endpoints of the configured sites, their tokens read from their files.
    static func endpoints(_ configuration: HostConfiguration) throws -> [SiteEndpoint] {
        try configuration.sites.map { site in
            let token: String
            do {
                token = String(decoding: try FileIO.readFile(RawPath(site.tokenFile), limit: 4096), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch let error as SystemError {
                throw CommandFailure(.keyProblem, "site \(site.name): cannot read its token file \(site.tokenFile): \(error.message)")
            }
            guard !token.isEmpty else { throw CommandFailure(.keyProblem, "site \(site.name): token file \(site.tokenFile) is empty") }
            let trust: SiteTrust = switch site.trust {
            case .pinned(let fingerprint): .pinned(fingerprint: fingerprint)
            case .certificateAuthority(let file): .certificateAuthority(file: file)
            case .system: .system
            }
            return SiteEndpoint(name: site.name, url: site.url, token: token, trust: trust)
        }
    }

    /// A connected client of the chosen site (or the configuration's first), for reading.
    func readingClient(tenant: TenantID) async throws -> SiteClient {
        let configuration = try load()
        let endpoints = try Self.endpoints(configuration)
        guard let endpoint = site.map({ name in endpoints.first { $0.name == name } }) ?? endpoints.first else {
            throw CommandFailure(.usage, site.map { "no site \($0) in \(configurationPath)" } ?? "\(configurationPath) lists no sites")
        }
        do { return try await SiteClient.connect(endpoint, tenant: tenant) } catch let error as SiteClientError {
            throw CommandFailure(error.isTransient ? .failure : .keyProblem, "\(error)")
        }
    }
}

/// A repository to read: a local folder (`--repo`) or a site (`--site`/`--config`).
struct ReadableRepository {
    let repository: Repository
    private let client: SiteClient?

    static func open(_ repository: RepositoryOptions, _ sites: SiteOptions, tenant: TenantPublicKey) async throws -> ReadableRepository {
        let local = repository.repo != nil || (sites.site == nil && sites.config == nil)
        if local {
            return ReadableRepository(repository: try await repository.open(for: tenant), client: nil)
        }
        let client = try await sites.readingClient(tenant: tenant.tenant)
        return ReadableRepository(repository: Repository(store: client, location: "site \(client.name) (\(client.endpoint.url))"), client: client)
    }

    func close() async {
        try? await client?.shutdown()
    }

    /// Opens the repository, runs `body` with it, and closes it whatever happens.
    static func using<T>(_ repository: RepositoryOptions, _ sites: SiteOptions, tenant: TenantPublicKey,
                         _ body: (Repository) async throws -> T) async throws -> T {
        let readable = try await open(repository, sites, tenant: tenant)
        do {
            let result = try await body(readable.repository)
            await readable.close()
            return result
        } catch {
            await readable.close()
            throw error
        }
    }
}
