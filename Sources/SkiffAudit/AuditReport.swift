import Foundation
import SkiffCore
import SkiffSiteProtocol

/// A site's scrubbing as the audit report shows it.
package struct ScrubStatusSummary: Sendable, Codable {
    package var bytesPerSecond: Int
    package var quarantined: Int
    package var quarantinedObjects: [String]
    /// ISO 8601 time the last complete pass ended.
    package var lastCompletedPass: String?

    package init(_ status: ScrubStatus) {
        bytesPerSecond = status.bytesPerSecond
        quarantined = status.quarantined.count
        quarantinedObjects = status.quarantined.map(\.address)
        lastCompletedPass = status.pass?.completed.map { ISO8601DateFormatter().string(from: $0) }
    }
}

/// What `skiff audit` prints (`--json`: this, encoded).
package struct AuditReport: Sendable, Codable {
    package struct SourceSummary: Sendable, Codable {
        package var name: String
        /// False when the source could not be read at all (`error` says why).
        package var reachable: Bool
        package var error: String?
        package var seals = 0
        /// Seals retention retired here: checked as links of their chain, not walked.
        package var retiredSeals = 0
        package var objectsRead = 0
        package var objectsReread = 0
        package var objectsTrusted = 0
        package var bytesRead = 0
        /// Seals whose whole DAG is present and intact at this source.
        package var completeSeals = 0
        package var findings = 0
        /// The site's own scrubbing, when the token may read it.
        package var scrub: ScrubStatusSummary?

        package init(name: String, reachable: Bool, error: String? = nil) {
            self.name = name
            self.reachable = reachable
            self.error = error
        }
    }

    /// One seal across the sources.
    package struct SealAgreement: Sendable, Codable {
        package var host: String
        package var sequence: UInt64
        /// Seal time, ISO 8601.
        package var time: String
        /// The seal's hash at each source holding it.
        package var hashes: [String: String]
        /// Sources lacking it.
        package var missingAt: [String]
        /// True when every reachable source holds this very seal and its complete DAG: equal
        /// roots and verified DAGs prove the replicas identical.
        package var identical: Bool
    }

    package var mode: String
    package var sources: [SourceSummary] = []
    package var findings: [AuditFinding] = []
    package var seals: [SealAgreement] = []
    package var seconds: Double = 0

    package init(mode: String) { self.mode = mode }

    package mutating func attach(_ scrub: ScrubStatusSummary, to source: String) {
        if let index = sources.firstIndex(where: { $0.name == source }) { sources[index].scrub = scrub }
    }

    /// No finding, and every source was read.
    package var isClean: Bool { findings.isEmpty && sources.allSatisfy(\.reachable) }
    package var operationalFailure: Bool { sources.contains { !$0.reachable } }
}
