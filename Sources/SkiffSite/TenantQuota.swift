import Foundation

/// What one tenant may keep at a site, set by the site's administrator
/// (`skiff-site tenant quota`). Nil limits are unlimited, which is the default.
package struct TenantQuota: Codable, Sendable, Equatable {
    /// Bytes of objects stored, sealed or not.
    package var storedBytes: Int?
    /// Bytes of objects uploaded within the last `unsealedSeconds` that no accepted seal
    /// reaches yet: what a writer can park at the site without committing to it.
    package var unsealedBytes: Int?
    /// How long an upload counts as unsealed. Older unreached uploads no longer count against
    /// `unsealedBytes` (garbage collection removes them after the grace period; they count
    /// against `storedBytes` until then).
    package var unsealedSeconds: Int

    package static let defaultUnsealedSeconds = 86_400

    package init(storedBytes: Int? = nil, unsealedBytes: Int? = nil, unsealedSeconds: Int = defaultUnsealedSeconds) {
        self.storedBytes = storedBytes
        self.unsealedBytes = unsealedBytes
        self.unsealedSeconds = unsealedSeconds
    }

    package static let unlimited = TenantQuota()

    /// Whether uploads must be tracked until a seal reaches them.
    var tracksUnsealed: Bool { unsealedBytes != nil }
}

/// What a tenant uses at a site, as the serving process counts it.
package struct TenantUsage: Codable, Sendable, Equatable {
    package var storedBytes = 0
    package var storedObjects = 0
    package var unsealedBytes = 0
    package var unsealedObjects = 0
    /// False until the count of the store at start has finished (uses only grow meanwhile).
    package var counted = false
    /// When the serving process last wrote these figures.
    package var updated: Date?

    package init() {}
}
