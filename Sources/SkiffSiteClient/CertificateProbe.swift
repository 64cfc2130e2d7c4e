import CSkiffTLS
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SkiffCore

/// Fetches a server's TLS certificate without verifying it, so that its fingerprint can be
/// compared with a pin. Nothing is sent after the handshake.
enum CertificateProbe {
    /// Completes when the TLS handshake is done; fails on error or close.
    final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        private let promise: EventLoopPromise<Void>

        init(promise: EventLoopPromise<Void>) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls { promise.succeed(()) }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.eof)
            context.fireChannelInactive()
        }
    }

    /// The server's leaf certificate. `host` may be a name or an IP literal.
    static func certificate(host: String, port: Int, timeout: TimeAmount = .seconds(10)) async throws -> NIOSSLCertificate {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        let isIPLiteral = (try? SocketAddress(ipAddress: host, port: port)) != nil
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = eventLoop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: isIPLiteral ? nil : host)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            handshake.fail(error)
            throw error
        }
        let timer = eventLoop.scheduleTask(in: timeout) { handshake.fail(ChannelError.connectTimeout(timeout)) }
        defer { timer.cancel() }
        do {
            try await handshake.futureResult.get()
            guard let certificate = try await channel.nioSSL_peerCertificate().get() else { throw NIOSSLError.noCertificateToValidate }
            try? await channel.close()
            return certificate
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Whether the certificate can be its own trust anchor: self-issued and marked as a CA
    /// (TLS libraries accept only CA certificates as anchors).
    static func canAnchorItself(_ certificate: NIOSSLCertificate) -> Bool {
        guard let der = try? certificate.toDERBytes() else { return false }
        var copy = der
        return copy.withUnsafeMutableBufferPointer { skiff_tls_is_self_signed_ca($0.baseAddress, $0.count) } == 1
    }

    /// SHA-256 of the certificate's DER encoding, in hex.
    static func fingerprint(_ certificate: NIOSSLCertificate) throws -> String {
        SHA256Hasher.digest(try certificate.toDERBytes()).hex
    }
}
