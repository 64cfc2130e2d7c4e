import ArgumentParser
import Foundation
import Logging
import SkiffSite
import SkiffSystem

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the site over HTTPS until SIGTERM or SIGINT.",
        discussion: """
            Prints "listening on HOST:PORT" once ready (with --listen …:0 the port is chosen by the system);
            under systemd (Type=notify) it then reports READY=1.
            On SIGTERM, stops accepting, lets requests in flight finish (up to 30 s), and exits; an upload cut
            short leaves nothing visible.
            """)

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: ArgumentHelp("Address and port to listen on.", valueName: "HOST:PORT"))
    var listen: String = "0.0.0.0:8443"
    @Option(name: .long, help: ArgumentHelp("TLS certificate chain, PEM (default: the data folder's).", valueName: "FILE"))
    var certificate: String?
    @Option(name: .long, help: ArgumentHelp("TLS private key, PEM (default: the data folder's).", valueName: "FILE"))
    var key: String?
    @Flag(name: .long, help: "Serve HTTP/1.1 only (no HTTP/2).")
    var http1Only = false
    @Option(name: .long, help: ArgumentHelp("Re-read stored objects in the background at this many MiB/s, quarantining damaged ones (0: off).", valueName: "MIB"))
    var scrubRate: Double = 8
    @Option(name: .long, help: ArgumentHelp("Hours between the end of one scrub pass and the start of the next.", valueName: "HOURS"))
    var scrubInterval: Double = 24
    @Option(name: .long, help: ArgumentHelp("Apply every tenant's retention policy and collect garbage every this many hours (0: only on request).", valueName: "HOURS"))
    var gcInterval: Double = 24
    @Option(name: .long, help: ArgumentHelp("Memory for request bodies in flight; requests beyond it wait (up to 30 s), then get 503.", valueName: "MIB"))
    var bodyMemory: Int = 256
    @Option(name: .long, help: ArgumentHelp("How long a request waits for body memory before it gets 503 overloaded.", valueName: "SECONDS"))
    var bodyWait: Int = 30
    @Option(name: .long, help: ArgumentHelp("Cut off a client whose request body arrives slower than this (after 10 s).", valueName: "KIB/S"))
    var minUploadRate: Int = 32
    @Option(name: .long, help: ArgumentHelp("Cut off a client whose request takes longer than this to arrive.", valueName: "SECONDS"))
    var requestTimeout: Int = 600
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw SiteCommandFailure.usage("--listen takes HOST:PORT")
        }
        guard scrubRate >= 0, scrubInterval >= 0, gcInterval >= 0 else {
            throw SiteCommandFailure.usage("--scrub-rate, --scrub-interval and --gc-interval cannot be negative")
        }
        guard (16...1 << 20).contains(bodyMemory), (1...55).contains(bodyWait), (1...1 << 20).contains(minUploadRate),
              (10...86_400).contains(requestTimeout) else {
            throw SiteCommandFailure.usage(
                "--body-memory is 16 to 1048576 MiB, --body-wait 1 to 55 s (below the 60 s idle timeout, which closes a connection the site has not read from without an answer), --min-upload-rate 1 to 1048576 KiB/s, --request-timeout 10 to 86400 s")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        _ = try data.registry()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = SiteServerConfiguration(
            dataFolder: data.folder, host: host, port: port,
            certificatePath: certificate ?? data.layout.certificate.description,
            privateKeyPath: key ?? data.layout.privateKey.description,
            http2: !http1Only)
        configuration.stores = try data.tenantStores()
        configuration.scrubBytesPerSecond = Int(scrubRate * 1_048_576)
        configuration.scrubPause = .seconds(scrubInterval * 3600)
        configuration.retentionInterval = gcInterval > 0 ? .seconds(gcInterval * 3600) : nil
        configuration.bodyMemoryBytes = bodyMemory << 20
        configuration.bodyMemoryWait = .seconds(bodyWait)
        configuration.slowClients.minimumBytesPerSecond = minUploadRate << 10
        configuration.slowClients.requestDeadline = .seconds(requestTimeout)
        do {
            let notifier = SystemdNotifier()
            try await SiteServer.run(configuration: configuration, logger: Logger(label: "skiff.site")) { bound in
                FileHandle.standardOutput.write(Data("listening on \(host):\(bound)\n".utf8))
                notifier.notify("READY=1\nSTATUS=listening on \(host):\(bound)")
            }
        } catch let error as SiteSetupError {
            throw SiteCommandFailure.key("\(error)")
        }
    }
}
