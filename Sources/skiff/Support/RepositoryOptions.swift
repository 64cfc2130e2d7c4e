import ArgumentParser
import Foundation
import Glibc
import SkiffBackup
import SkiffConfig
import SkiffCore
import SkiffStorage
import SkiffSystem

/// `--repo DIR`: the local repository folder.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Repository folder (default: $SKIFF_REPOSITORY).", valueName: "DIR"))
    var repo: String?

    var path: String {
        get throws {
            if let repo { return repo }
            if let env = getenv("SKIFF_REPOSITORY") { return String(cString: env) }
            throw CommandFailure(.usage, "no repository: give --repo DIR or set SKIFF_REPOSITORY")
        }
    }

    /// Opens an initialised repository (objects in packs, docs/FORMAT.md §7.1). Exit code 4 when
    /// it is missing or not a repository.
    func open() async throws -> Repository {
        let path = try self.path
        let root = RawPath(path)
        guard FileIO.isDirectory(root), FileIO.exists(root.appending("config")) else {
            throw CommandFailure(.noRepository, "no Skiff repository at \(path) (create one with `skiff init --repo \(path)`)")
        }
        let store = try await PackedStore.open(folder: try FileSystemStore(root: root))
        return Repository(store: store, location: path)
    }

    /// Opens the repository and checks that it belongs to `tenant`.
    func open(for tenant: TenantPublicKey) async throws -> Repository {
        let repository = try await open()
        let recorded: TenantPublicKey
        do { recorded = try await repository.readConfig() } catch let error as FormatError {
            throw CommandFailure(.noRepository, "\(repository.location): damaged config (\(error))")
        } catch let error as KeyError {
            throw CommandFailure(.noRepository, "\(repository.location): damaged config (\(error))")
        }
        guard recorded.tenant == tenant.tenant else {
            throw CommandFailure(.noRepository, "\(repository.location) belongs to tenant \(recorded.tenant), but the key is for tenant \(tenant.tenant)")
        }
        return repository
    }
}

/// `--cache-dir DIR`: where the host keeps its local cache.
struct CacheOptions: ParsableArguments {
    init() {}

    init(cacheDir: String) { self.cacheDir = cacheDir }

    @Option(name: .long, help: ArgumentHelp("Folder for the local cache (default: $SKIFF_CACHE_DIR, /var/cache/skiff for root, ~/.cache/skiff otherwise).", valueName: "DIR"))
    var cacheDir: String?

    var directory: String {
        if let cacheDir { return cacheDir }
        if let env = getenv("SKIFF_CACHE_DIR") { return String(cString: env) }
        return HostDefaults.cacheDirectory
    }

    var folder: HostStateLayout.CacheFolder { HostStateLayout.CacheFolder(directory) }

    func open(tenant: TenantID, host: String) throws -> LocalCache {
        let path = folder.localCache(tenant: tenant, host: host)
        do { return try LocalCache(path: path) } catch {
            throw CommandFailure(.failure, "cannot open the local cache \(path): \(error)")
        }
    }
}

/// `--json` for machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}
