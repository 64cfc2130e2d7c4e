import NIOCore
import NIOHTTPTypes

/// How long a client may take (docs/PROTOCOL.md, "Limits").
package struct SlowClientLimits: Sendable, Equatable {
    /// A request body must arrive at this rate at least, on average over the time the site
    /// waited for it (after `grace`).
    package var minimumBytesPerSecond: Int = 32 << 10
    /// Time a body may take before the rate counts.
    package var grace: Duration = .seconds(10)
    /// A whole request (head to end of body) within this much of the site's waiting.
    package var requestDeadline: Duration = .seconds(600)
    /// A client that reads none of an answer for this long is cut off.
    package var responseStall: Duration = .seconds(60)
    /// How often the limits are checked.
    package var tick: Duration = .seconds(1)

    package init() {}
}

/// Cuts off clients that hold a connection by being slow on purpose: a request body that
/// trickles in below the minimum rate or takes longer than the deadline, or an answer the
/// client stops reading. (A request head that does not arrive is the idle timeout's.) It also
/// sizes the connection's reads so that a client the site does not read holds little memory.
///
/// The clock runs only while the site waits for the client: while the site itself does not
/// read (a body waiting for room in the memory budget, `BodyBudget`), no client time passes.
/// It sits after the HTTP codec, on a connection (HTTP/1.1) or a stream (HTTP/2). Event-loop
/// bound, like every channel handler.
final class SlowClientGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: SlowClientLimits
    let onCutOff: @Sendable (String) -> Void
    private let clock = ContinuousClock()

    private var inRequest = false
    private var bodyBytes = 0
    /// Time the site spent waiting for this request's bytes, besides the current wait.
    private var waited: Duration = .zero
    /// Since when a read is asked for and no bytes came.
    private var waitingSince: ContinuousClock.Instant?
    /// Since when the client has not taken what the site writes.
    private var stalledSince: ContinuousClock.Instant?
    private var timer: Scheduled<Void>?

    init(limits: SlowClientLimits, onCutOff: @escaping @Sendable (String) -> Void) {
        self.limits = limits
        self.onCutOff = onCutOff
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context) }
        // A request waiting for room in the body budget is not read, but NIO's defaults read up
        // to 16 pieces of up to 64 KiB whenever it reads at all: 100 clients waiting with large
        // bundles held 3.8 MiB each (a release site at 456 MiB with a 32 MiB budget). One piece
        // of one TLS record's size per read keeps a waiting connection at about 200 KiB (the
        // same test: 150 MiB). The options belong to the TCP connection: on HTTP/2 this handler
        // sits on a stream, whose parent is the connection (a stream channel has no such options).
        var connection = context.channel
        if let parent = connection.parent, parent.parent != nil { connection = parent }
        _ = connection.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
        _ = connection.setOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.readSize))
    }

    /// Bytes read from a connection at a time: one TLS record.
    static let readSize = 16 << 10

    func channelActive(context: ChannelHandlerContext) {
        schedule(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if inRequest, waitingSince == nil { waitingSince = clock.now }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = clock.now
        if let since = waitingSince {
            if inRequest { waited += now - since }
            waitingSince = nil
        }
        switch unwrapInboundIn(data) {
        case .head:
            inRequest = true
            bodyBytes = 0
            waited = .zero
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            inRequest = false
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalledSince = context.channel.isWritable ? nil : clock.now
        context.fireChannelWritabilityChanged()
    }

    private func schedule(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(limits.tick.components.seconds) * 1_000_000_000
                                                                              + limits.tick.components.attoseconds / 1_000_000_000)) {
            self.timer = nil
            self.check(context)
        }
    }

    private func check(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let now = clock.now
        if let reason = verdict(now: now) {
            onCutOff(reason)
            context.close(promise: nil)
            return
        }
        schedule(context)
    }

    /// Why the client is cut off now, or nil.
    private func verdict(now: ContinuousClock.Instant) -> String? {
        if let stalledSince, now - stalledSince > limits.responseStall { return "stalled-reader" }
        guard inRequest else { return nil }
        let clientTime = waited + (waitingSince.map { now - $0 } ?? .zero)
        if clientTime > limits.requestDeadline { return "deadline" }
        guard clientTime > limits.grace else { return nil }
        let seconds = (clientTime - limits.grace) / .seconds(1)
        return Double(bodyBytes) < Double(limits.minimumBytesPerSecond) * seconds ? "too-slow" : nil
    }
}
