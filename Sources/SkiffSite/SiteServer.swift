import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SkiffStorage
import SkiffSystem
import UnixSignals

/// How `skiff-site serve` runs.
package struct SiteServerConfiguration: Sendable {
    package var dataFolder: RawPath
    /// Where tenants' objects and seals live: by default `<data>/tenants/` (`SiteDataLayout`).
    package var stores: any TenantStores
    package var host: String
    package var port: Int
    package var certificatePath: String
    package var privateKeyPath: String
    /// Offer HTTP/2 (ALPN "h2") besides HTTP/1.1.
    package var http2: Bool
    /// Close connections idle this long.
    package var idleTimeout: Duration = .seconds(60)
    /// Give in-flight requests this long to finish on SIGTERM.
    package var shutdownGrace: Duration = .seconds(30)
    /// Background re-reading of stored objects (0: off), and the pause between passes.
    package var scrubBytesPerSecond = 0
    package var scrubPause: Duration = .seconds(86_400)
    /// Applying retention and collecting garbage (nil: only when an administrator asks).
    package var retentionInterval: Duration?
    /// Memory for request bodies in flight (`BodyBudget`), and how long a request waits for it.
    package var bodyMemoryBytes = 256 << 20
    package var bodyMemoryWait: Duration = .seconds(30)
    /// When slow clients are cut off (`SlowClientGuard`).
    package var slowClients = SlowClientLimits()

    package init(dataFolder: RawPath, host: String, port: Int, certificatePath: String, privateKeyPath: String, http2: Bool) {
        self.dataFolder = dataFolder
        stores = FolderTenantStores(root: SiteDataLayout(folder: dataFolder).tenants)
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.http2 = http2
    }
}

/// The site server: HTTPS (TLS 1.2+, HTTP/1.1 and HTTP/2) in front of `SiteService`, with a
/// periodic housekeeping service, graceful shutdown on SIGTERM and SIGINT.
package enum SiteServer {
    /// Runs until SIGTERM or SIGINT. `onListening` receives the bound port (useful with
    /// port 0).
    package static func run(
        configuration: SiteServerConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) -> Void
    ) async throws {
        let siteRegistry = try SiteRegistry(path: SiteDataLayout(folder: configuration.dataFolder).registry.description)
        let metrics = SiteMetrics()
        let service = SiteService(registry: siteRegistry, stores: configuration.stores, metrics: metrics, logger: logger)
        try await withCleanup {
            try await service.reconcile()
            try await serve(service, configuration: configuration, logger: logger, onListening: onListening)
        } cleanup: {
            await configuration.stores.shutdown()
        }
    }

    private static func serve(
        _ service: SiteService, configuration: SiteServerConfiguration, logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void
    ) async throws {
        let metrics = service.metrics

        let router = Router(context: SiteRequestContext.self)
        router.add(middleware: SiteErrorMiddleware(metrics: metrics))
        let bodies = BodyBudget(bytes: configuration.bodyMemoryBytes, wait: configuration.bodyMemoryWait, metrics: metrics)
        SiteRoutes(service: service, scrubBytesPerSecond: configuration.scrubBytesPerSecond, limiter: AuthenticationLimiter(), bodies: bodies)
            .register(on: router)

        let tls = try tlsConfiguration(configuration)
        let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000)
        let limits = configuration.slowClients
        let perConnection = HTTP1Channel.Configuration(
            additionalChannelHandlers: [SlowClientGuard(limits: limits, onCutOff: { metrics.slowClientClosed(reason: $0) })], idleTimeout: idle)
        let server: HTTPServerBuilder
        if configuration.http2 {
            var http2 = HTTP2UpgradeChannel.Configuration(idleTimeout: configuration.idleTimeout, streamConfiguration: perConnection)
            http2.gracefulCloseTimeout = .seconds(10)
            server = try .http2Upgrade(tlsConfiguration: tls, configuration: http2)
        } else {
            server = try .tls(.http1(configuration: perConnection), tlsConfiguration: tls)
        }
        // Hummingbird announces its start at info level; `onListening` already says where it
        // listens, so the server's own logger starts at notice (request errors stay).
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "skiff-site"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
            logger: serverLogger)
        let housekeeping = Housekeeping(service: service, logger: logger)
        var services: [any Service] = [housekeeping, app]
        if configuration.scrubBytesPerSecond > 0 {
            services.append(SiteScrubber(service: service, bytesPerSecond: configuration.scrubBytesPerSecond, pause: configuration.scrubPause, logger: logger))
        }
        if let interval = configuration.retentionInterval {
            services.append(SiteRetentionSchedule(service: service, interval: interval, logger: logger))
        }
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownGrace
        try await ServiceGroup(configuration: group).run()
        try await service.flushStores()
        try service.flushIdentities()
    }

    /// TLS 1.2 or newer with the site's certificate chain and key; fails early, with the file
    /// named, when they cannot be used.
    static func tlsConfiguration(_ configuration: SiteServerConfiguration) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificatePath)
            guard !chain.isEmpty else { throw SiteSetupError("\(configuration.certificatePath) holds no certificate") }
            let key = try NIOSSLPrivateKey(file: configuration.privateKeyPath, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            _ = try NIOSSLContext(configuration: tls)
            return tls
        } catch let error as SiteSetupError {
            throw error
        } catch {
            throw SiteSetupError("TLS certificate \(configuration.certificatePath) or key \(configuration.privateKeyPath) unusable: \(error)")
        }
    }
}

/// The server cannot start with what it was given (certificate, key, data folder).
package struct SiteSetupError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// Periodic work beside the server: counts the stores once (quotas), then every second makes
/// uploads that waited durable (`CollectableStore.settle`), writes the buffered identity index
/// and the tenants' usage.
struct Housekeeping: Service {
    let service: SiteService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            let counting = Task { await service.countStores() }
            defer { counting.cancel() }
            while !Task.isCancelled {
                do { try await service.settleStores() } catch {
                    logger.warning("making uploads durable failed", metadata: ["error": "\(error)"])
                }
                do { try service.flushIdentities() } catch {
                    logger.warning("writing the identity index failed", metadata: ["error": "\(error)"])
                }
                do { try service.publishUsage() } catch {
                    logger.warning("recording tenants' usage failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
