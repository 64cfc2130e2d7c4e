import Hummingbird
import NIOCore

/// Per-request state: the authenticated principal, once the auth middleware has run.
package struct SiteRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package var principal: Principal?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// JSON bodies (missing queries) are at most 2 MiB.
    package var maxUploadSize: Int { 2 << 20 }
}
