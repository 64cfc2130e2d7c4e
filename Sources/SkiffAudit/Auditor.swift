import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffStorage

/// Audits sources without any decryption key: for each host's seal chain at each source,
/// every signature (against host certificates issued by the pinned tenant key), the chain's
/// continuity, no rollback since the last audit, and the Merkle DAG below every seal; then
/// compares the sources seal by seal.
package struct Auditor: Sendable {
    let tenant: TenantPublicKey
    let state: AuditState
    let options: WalkOptions
    /// With it, every object is also decrypted: AEAD tags, keyed identities, node structure.
    let keyedCheck: (any KeyedCheck)?
    let logger: Logger

    package init(tenant: TenantPublicKey, state: AuditState, options: WalkOptions, keyedCheck: (any KeyedCheck)? = nil, logger: Logger) {
        self.tenant = tenant
        self.state = state
        self.options = options
        self.keyedCheck = keyedCheck
        self.logger = logger
    }

    /// Audits every source (one after another: they are usually different machines, and one
    /// at a time keeps memory bounded) and compares them. `progress` receives the source
    /// name and the objects checked so far.
    package func audit(_ sources: [AuditSource], progress: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async -> AuditReport {
        let started = Date()
        let mode = options.deep ? "deep" : options.samplePercent > 0 ? "incremental, \(options.samplePercent)% sampled" : "incremental"
        var report = AuditReport(mode: mode)
        var catalogs: [SourceCatalog] = []
        for source in sources {
            var summary = AuditReport.SourceSummary(name: source.name, reachable: true)
            do {
                let (findings, catalog, walk) = try await audit(source, progress: { progress(source.name, $0) })
                summary.seals = catalog.seals.count
                summary.retiredSeals = catalog.retired.count
                summary.objectsRead = walk.objectsRead
                summary.objectsReread = walk.objectsReread
                summary.objectsTrusted = walk.objectsTrusted
                summary.bytesRead = walk.bytesRead
                summary.completeSeals = walk.completeSeals.count
                summary.findings = findings.count
                report.findings += findings
                catalogs.append(SourceCatalog(source: source.name, seals: catalog.seals, retired: catalog.retired, complete: walk.completeSeals))
            } catch {
                summary.reachable = false
                summary.error = "\(error)"
                logger.error("audit of a source failed", metadata: ["source": "\(source.name)", "error": "\(error)"])
            }
            report.sources.append(summary)
        }
        let (agreements, findings) = Self.compare(catalogs)
        report.seals = agreements
        report.findings += findings
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// One source: seals, rollback, DAG.
    private func audit(_ source: AuditSource, progress: @escaping @Sendable (Int) -> Void) async throws -> ([AuditFinding], SealCatalog, WalkOutcome) {
        let catalog = try await SealCatalog.load(repository: source.repository, tenant: tenant)
        var findings = catalog.problems.map { AuditFinding.from($0, source: source.name) }
        findings += try checkRollback(catalog.seals + catalog.retired, source: source)
        findings += Self.implausibleSeals(catalog.seals + catalog.retired, source: source.name)
        let walk = try await DAGWalk(source: source, state: state, options: options, fallback: nil).run(catalog.seals, progress: progress)
        findings += walk.findings
        if let keyedCheck {
            // Keyless findings (missing, corrupt, seals) are already in; add what only the key shows.
            for problem in try await keyedCheck.problems(in: source.repository) where !problem.code.isKeyless {
                var finding = AuditFinding(.undecryptableObject, source: source.name, message: problem.description)
                finding.object = problem.object
                finding.seals = problem.seal.map { [$0] } ?? []
                findings.append(finding)
            }
        }
        return (findings, catalog, walk)
    }

    /// The seals whose clear fields cannot be true, each judged against the seal of its host
    /// before it (when present) and the auditor's clock.
    package static func implausibleSeals(_ seals: [Seal], source: String, now: Date = Date()) -> [AuditFinding] {
        let clock = Timestamp(unixNanoseconds: Int64(now.timeIntervalSince1970 * 1e9))
        let bySequence = Dictionary(seals.map { ("\($0.hostName)#\($0.sequence)", $0) }, uniquingKeysWith: { first, _ in first })
        return seals.sorted { ($0.hostName, $0.sequence) < ($1.hostName, $1.sequence) }.compactMap { seal in
            let previous = bySequence["\(seal.hostName)#\(seal.sequence - 1)"].flatMap { $0.hash == seal.previous ? $0.time : nil }
            return SealPlausibility.problem(seal, previousTime: previous, now: clock).map {
                AuditFinding(.implausibleSeal, source: source, seals: [seal.name.short], message: "seal #\(seal.sequence) of \(seal.hostName): \($0)")
            }
        }
    }

    /// Compares each host's newest seal with what the last audit saw at this source, then
    /// remembers the newer of the two (a rollback stays a finding until it is repaired).
    private func checkRollback(_ seals: [Seal], source: AuditSource) throws -> [AuditFinding] {
        var findings: [AuditFinding] = []
        let previous = try state.heads(source: source.stateKey)
        for (host, hostSeals) in Dictionary(grouping: seals, by: \.hostName) {
            let newest = hostSeals.max { $0.sequence < $1.sequence }!
            if let seen = previous[host] {
                if newest.sequence < seen.sequence {
                    findings.append(AuditFinding(.rollback, source: source.name, seals: [newest.name.short],
                                                 message: "the newest seal of \(host) is #\(newest.sequence), but an earlier audit saw #\(seen.sequence) (\(seen.hash.hex.prefix(12))…) here"))
                    continue
                }
                if let same = hostSeals.first(where: { $0.sequence == seen.sequence }), same.hash != seen.hash {
                    findings.append(AuditFinding(.rollback, source: source.name, seals: [same.name.short],
                                                 message: "seal #\(seen.sequence) of \(host) was \(seen.hash.hex.prefix(12))… at an earlier audit and is now \(same.hash.hex.prefix(12))…: history was rewritten"))
                    continue
                }
            }
            try state.recordHead(AuditState.Head(sequence: newest.sequence, hash: newest.hash), host: host, source: source.stateKey)
        }
        for (host, seen) in previous where !seals.contains(where: { $0.hostName == host }) {
            findings.append(AuditFinding(.rollback, source: source.name,
                                         message: "no seal of \(host) is left, but an earlier audit saw #\(seen.sequence) (\(seen.hash.hex.prefix(12))…) here"))
        }
        return findings
    }

    /// What one source holds, for comparison.
    struct SourceCatalog {
        var source: String
        var seals: [Seal]
        var retired: [Seal]
        var complete: Set<Digest256>
    }

    /// Seal by seal across sources: who holds what, and where they disagree. A seal one
    /// source retired (its retention may differ) counts as held there for the comparison of
    /// hashes, but not as a restorable copy.
    static func compare(_ catalogs: [SourceCatalog]) -> ([AuditReport.SealAgreement], [AuditFinding]) {
        struct Key: Hashable { let host: String; let sequence: UInt64 }
        var held: [Key: [(source: String, seal: Seal)]] = [:]
        var retiredAt: [Key: [(source: String, seal: Seal)]] = [:]
        for catalog in catalogs {
            for seal in catalog.seals { held[Key(host: seal.hostName, sequence: seal.sequence), default: []].append((catalog.source, seal)) }
            for seal in catalog.retired { retiredAt[Key(host: seal.hostName, sequence: seal.sequence), default: []].append((catalog.source, seal)) }
        }
        var agreements: [AuditReport.SealAgreement] = []
        var findings: [AuditFinding] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for (key, holders) in held.sorted(by: { ($0.key.host, $0.key.sequence) < ($1.key.host, $1.key.sequence) }) {
            let retiredHolders = retiredAt[key] ?? []
            let everyHolder = holders + retiredHolders
            let sources = Set(everyHolder.map(\.source))
            let missing = catalogs.map(\.source).filter { !sources.contains($0) }
            let hashes = Set(everyHolder.map(\.seal.hash))
            let first = holders[0].seal
            if hashes.count > 1 {
                let detail = everyHolder.map { "\($0.source) has \($0.seal.hash.hex.prefix(12))…" }.joined(separator: ", ")
                findings.append(AuditFinding(.rootMismatch, source: everyHolder.map(\.source).joined(separator: ", "),
                                             seals: everyHolder.map(\.seal.name.short),
                                             message: "sites disagree on seal #\(key.sequence) of \(key.host): \(detail)"))
            }
            for source in missing {
                findings.append(AuditFinding(.missingSeal, source: source, seals: [first.name.short],
                                             message: "seal #\(key.sequence) of \(key.host) is held by \(holders.map(\.source).joined(separator: ", ")) but not here"))
            }
            let complete = retiredHolders.isEmpty && holders.allSatisfy { holder in catalogs.first { $0.source == holder.source }!.complete.contains(holder.seal.hash) }
            let seconds = Double(first.time.seconds) + Double(first.time.nanoseconds) / 1e9
            agreements.append(AuditReport.SealAgreement(
                host: key.host, sequence: key.sequence, time: formatter.string(from: Date(timeIntervalSince1970: seconds)),
                // A source holding two seals of one sequence (a fork, its own finding) shows the first.
                hashes: Dictionary(holders.map { ($0.source, $0.seal.hash.hex) }, uniquingKeysWith: { first, _ in first }),
                missingAt: missing, identical: hashes.count == 1 && missing.isEmpty && complete))
        }
        return (agreements, findings)
    }
}
