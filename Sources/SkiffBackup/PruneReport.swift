import Foundation
import SkiffGraph
import SkiffStorage

/// What `skiff prune` did (or, in a dry run, would do). `skiff prune --json` prints it as one
/// flat object: the fields below and those of `CollectionCounts` (named as in a site's
/// collection report).
package struct PruneReport: Encodable, Sendable, Equatable {
    package var repository: String
    /// When the run started (ISO 8601, UTC).
    package var started: String
    package var dryRun: Bool
    /// Unreachable objects stored within this many seconds were kept (`counts.keptYoung`).
    package var graceSeconds: Int
    /// `recovered`: objects found in the trash of an interrupted prune and put back first (a dry
    /// run only counts them); `deletedObjects`: in a dry run, the objects that would go.
    package var counts: CollectionCounts
    package var seconds: Double

    package init(repository: String, started: Date, dryRun: Bool, graceSeconds: Int, counts: CollectionCounts, seconds: Double) {
        self.repository = repository
        self.started = ISO8601DateFormatter().string(from: started)
        self.dryRun = dryRun
        self.graceSeconds = graceSeconds
        self.counts = counts
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case repository, started, dryRun, graceSeconds, seconds
    }

    package func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(repository, forKey: .repository)
        try container.encode(started, forKey: .started)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(graceSeconds, forKey: .graceSeconds)
        try container.encode(seconds, forKey: .seconds)
    }
}
