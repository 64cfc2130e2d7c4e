import ArgumentParser
import Foundation
import Glibc
import Logging
import SkiffSite
import SkiffStorage
import SkiffSystem

@main
struct SkiffSiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff-site",
        abstract: "A Skiff site: stores tenants' encrypted objects and verified seals, over HTTPS.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage, 3 refused (retention: immutable, held, chain head; gc: incomplete objects),
            4 no initialised data folder, 5 unusable key or certificate file, 6 the stores and the index disagree (check).
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, ServeCommand.self, TenantCommand.self, TokenCommand.self, HostCommand.self,
            AuditTrailCommand.self, FingerprintCommand.self, RetentionCommand.self, CollectCommand.self, CheckCommand.self, ReindexCommand.self,
        ])

    static func main() async {
        MemoryAllocator.configureForLargeBuffers()
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Glibc.exit(2)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch where exitCode(for: error) == .success {
            print(fullMessage(for: error))
            Glibc.exit(0)
        } catch let failure as SiteCommandFailure {
            FileHandle.standardError.write(Data("skiff-site: \(failure.message)\n".utf8))
            Glibc.exit(failure.code)
        } catch {
            FileHandle.standardError.write(Data("skiff-site: \(error)\n".utf8))
            Glibc.exit(1)
        }
    }
}

/// An error with its exit code (see the command's discussion).
struct SiteCommandFailure: Error {
    let code: Int32
    let message: String

    static func usage(_ message: String) -> SiteCommandFailure { .init(code: 2, message: message) }
    static func noData(_ message: String) -> SiteCommandFailure { .init(code: 4, message: message) }
    static func key(_ message: String) -> SiteCommandFailure { .init(code: 5, message: message) }
}

/// `--data DIR`: the site's data folder.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The site's data folder (default: $SKIFF_SITE_DATA, else /var/lib/skiff-site).", valueName: "DIR"))
    var data: String?

    var folder: RawPath {
        if let data { return RawPath(data) }
        if let env = getenv("SKIFF_SITE_DATA") { return RawPath(String(cString: env)) }
        return RawPath("/var/lib/skiff-site")
    }

    var layout: SiteDataLayout { SiteDataLayout(folder: folder) }

    /// The registry of an initialised data folder.
    func registry() throws -> SiteRegistry {
        let database = layout.registry
        guard FileIO.exists(database) else {
            throw SiteCommandFailure.noData("\(folder) is not an initialised site data folder (run `skiff-site init --data \(folder)`)")
        }
        return try SiteRegistry(path: database.description)
    }

    /// The registry, created empty when the folder has none (`reindex` of a lost registry); the
    /// folder must still be a site's: its TLS certificate is there.
    func registryCreatingIfMissing() throws -> SiteRegistry {
        guard FileIO.exists(layout.certificate) else {
            throw SiteCommandFailure.noData("\(folder) is not a site data folder (no tls/certificate.pem): run `skiff-site init --data \(folder)` first")
        }
        return try SiteRegistry(path: layout.registry.description)
    }

    /// Where the tenants' objects and seals are: the bucket of `storage.json`, else `<data>/tenants/`.
    func tenantStores() throws -> any TenantStores {
        if let storage = try StorageConfiguration.load(from: folder) { return try storage.tenantStores(layout: layout) }
        return FolderTenantStores(root: layout.tenants)
    }
}

/// `--json`.
struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
