import Hummingbird
import NIOCore

/// Per-request state: the authenticated principal, once the auth middleware has run.
package struct SiteRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package var principal: Principal?
    /// The client's IP address, as the connection shows it (rate limiting, the audit trail).
    package let clientAddress: String?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// JSON bodies (missing queries) are at most 2 MiB.
    package var maxUploadSize: Int { 2 << 20 }
}
