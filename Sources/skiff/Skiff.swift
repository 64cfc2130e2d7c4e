import ArgumentParser
import Foundation
import Glibc
import Logging
import SkiffSystem

@main
struct Skiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Disaster-recovery replication for Linux hosts: encrypted, deduplicated, Merkle-sealed snapshots.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage, 3 partial (something skipped), 4 no repository,
            5 wrong passphrase or key, 6 integrity failure (corrupt or missing data), 7 store full,
            8 sealed but not yet at the quorum of sites, 9 the folder differs from the snapshot (diff, restore --verify),
            10 audit or heal incomplete (a site unreachable), 11 the repository is in use (prune while a backup writes),
            130 interrupted.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, BackupCommand.self, SnapshotsCommand.self, RestoreCommand.self, VerifyCommand.self, PruneCommand.self, ReindexCommand.self,
            DiffCommand.self, StatusCommand.self, SyncCommand.self, AgentCommand.self, AuditCommand.self, HealCommand.self, KeyCommand.self,
        ])

    /// Parses, runs, and maps every error to the documented exit codes.
    static func main() async {
        MemoryAllocator.configureForLargeBuffers()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["SKIFF_LOG_LEVEL"] ?? "") ?? .warning
            return handler
        }
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            FileHandleOutput.standardError(fullMessage(for: error) + "\n")
            Glibc.exit(ExitStatus.usage.rawValue)
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
            // `--help` and `--version` arrive here as the run of ArgumentParser's own commands.
            print(fullMessage(for: error))
            Glibc.exit(0)
        } catch {
            let (status, message) = classify(error)
            FileHandleOutput.standardError("skiff: \(message)\n")
            Glibc.exit(status.rawValue)
        }
    }
}
