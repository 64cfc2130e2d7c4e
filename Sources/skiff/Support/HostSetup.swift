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
    @Option(name: .long, help: ArgumentHelp("Read from this site of the configuration; repeat to give several, tried in that order (default: every site, fastest first).", valueName: "NAME"))
    var site: [String] = []

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

    /// A connected client of the first chosen site (or the configuration's first), for reading.
    func readingClient(tenant: TenantID) async throws -> SiteClient {
        try await connect(try chosenEndpoint(site.first), tenant: tenant)
    }

    private func chosenEndpoint(_ name: String?) throws -> SiteEndpoint {
        let endpoints = try Self.endpoints(try load())
        guard let endpoint = name.map({ name in endpoints.first { $0.name == name } }) ?? endpoints.first else {
            throw CommandFailure(.usage, name.map { "no site \($0) in \(configurationPath)" } ?? "\(configurationPath) lists no sites")
        }
        return endpoint
    }

    private func connect(_ endpoint: SiteEndpoint, tenant: TenantID) async throws -> SiteClient {
        do { return try await SiteClient.connect(endpoint, tenant: tenant) } catch let error as SiteClientError {
            throw CommandFailure(error.isTransient ? .failure : .keyProblem, "\(error)")
        }
    }
}

extension SiteOptions {
    /// Connected clients of every configured site that answers (or of `--site` alone), in
    /// `SiteRanking.rank`'s order. Sites that do not answer are reported on standard error.
    func readingClients(tenant: TenantID) async throws -> [SiteClient] {
        if !site.isEmpty {
            var clients: [SiteClient] = []
            for name in site { clients.append(try await connect(try chosenEndpoint(name), tenant: tenant)) }
            return clients
        }
        let configuration = try load()
        let endpoints = try Self.endpoints(configuration)
        guard !endpoints.isEmpty else { throw CommandFailure(.usage, "\(configurationPath) lists no sites") }
        let ranking = await SiteRanking.rank(endpoints, tenant: tenant)
        for (name, problem) in ranking.unavailable {
            FileHandleOutput.standardError("warning: site \(name) unavailable: \(problem)\n")
        }
        let clients = ranking.clients
        guard !clients.isEmpty else { throw CommandFailure(.failure, "no configured site answers") }
        return clients
    }
}

/// A repository to read: a local folder (`--repo`) or a site (`--site`/`--config`).
struct ReadableRepository {
    let repository: Repository
    private let client: SiteClient?

    /// Whether the options name the local repository (`--repo`, or no site option at all)
    /// rather than sites.
    static func isLocal(_ repository: RepositoryOptions, _ sites: SiteOptions) -> Bool {
        repository.repo != nil || (sites.site.isEmpty && sites.config == nil)
    }

    static func open(_ repository: RepositoryOptions, _ sites: SiteOptions, tenant: TenantPublicKey) async throws -> ReadableRepository {
        if isLocal(repository, sites) {
            return ReadableRepository(repository: try await repository.open(for: tenant), client: nil)
        }
        let client = try await sites.readingClient(tenant: tenant.tenant)
        return ReadableRepository(repository: Repository(store: client, location: "site \(client.name)"), client: client)
    }

    func close() async {
        try? await client?.shutdown()
    }

    /// Every source to read from: the local repository, or each configured site that answers
    /// (fastest first), or only `--site`. Runs `body` and closes them whatever happens.
    static func usingAll<T>(_ repository: RepositoryOptions, _ sites: SiteOptions, tenant: TenantPublicKey,
                            _ body: ([Repository]) async throws -> T) async throws -> T {
        if isLocal(repository, sites) {
            return try await body([try await repository.open(for: tenant)])
        }
        let clients = try await sites.readingClients(tenant: tenant.tenant)
        let repositories = clients.map { Repository(store: $0, location: "site \($0.name)") }
        return try await withCleanup { try await body(repositories) } cleanup: {
            for client in clients { try? await client.shutdown() }
        }
    }

    /// Opens the repository, runs `body` with it, and closes it whatever happens.
    static func using<T>(_ repository: RepositoryOptions, _ sites: SiteOptions, tenant: TenantPublicKey,
                         _ body: (Repository) async throws -> T) async throws -> T {
        let readable = try await open(repository, sites, tenant: tenant)
        return try await withCleanup { try await body(readable.repository) } cleanup: { await readable.close() }
    }
}
