import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffStorage

/// What `skiff heal` did.
package struct HealReport: Sendable, Codable {
    package var from: String
    package var to: String
    /// Missing or damaged objects at `to`, found by walking every seal's DAG there.
    package var damagedFound = 0
    package var objectsCopied = 0
    package var bytesCopied = 0
    /// Seals held by `from` and now also by `to`.
    package var sealsCopied: [String] = []
    /// What could not be repaired from `from` (its copy is missing or damaged too, or the
    /// sites hold conflicting seals).
    package var unhealable: [AuditFinding] = []
    package var seconds: Double = 0

    package var complete: Bool { unhealable.isEmpty }
}

/// Repairs one site from another without any key: objects are content-addressed, so a copy
/// whose bytes hash to its address is the object, whoever holds it. The damaged site checks
/// every upload as it always does (hash, header; seals: signature, chain, completeness).
package struct Healer: Sendable {
    let tenant: TenantPublicKey
    let state: AuditState
    let options: WalkOptions
    let logger: Logger
    /// Upload request size, as for replication.
    static let bundleBytes = 4 << 20

    package init(tenant: TenantPublicKey, state: AuditState, options: WalkOptions, logger: Logger) {
        self.tenant = tenant
        self.state = state
        self.options = options
        self.logger = logger
    }

    /// Copies to `to` every object it lacks or holds damaged below its own seals and below
    /// the seals of `from` it lacks, then those seals, in chain order. `target` is the
    /// client of `to` (an admin token: seals of every host are written).
    package func heal(from: AuditSource, to: AuditSource, target: SiteClient) async throws -> HealReport {
        let started = Date()
        var report = HealReport(from: from.name, to: to.name)
        let fromCatalog = try await SealCatalog.load(repository: from.repository, tenant: tenant)
        let toCatalog = try await SealCatalog.load(repository: to.repository, tenant: tenant)
        let held = Dictionary(toCatalog.seals.map { ("\($0.hostName)/\($0.sequence)", $0) }, uniquingKeysWith: { first, _ in first })
        var sealsToCopy: [Seal] = []
        for seal in fromCatalog.seals.sorted(by: { ($0.hostName, $0.sequence) < ($1.hostName, $1.sequence) }) {
            guard let other = held["\(seal.hostName)/\(seal.sequence)"] else {
                sealsToCopy.append(seal)
                continue
            }
            if other.hash != seal.hash {
                report.unhealable.append(AuditFinding(.rootMismatch, source: "\(from.name), \(to.name)", seals: [seal.name.short, other.name.short],
                                                      message: "the sites hold different seals #\(seal.sequence) of \(seal.hostName); healing cannot choose"))
            }
        }
        // Walk at `to`, reading what it lacks from `from`, so everything below is reached.
        let walk = try await DAGWalk(source: to, state: state, options: options, fallback: from).run(toCatalog.seals + sealsToCopy)
        report.damagedFound = walk.damaged.count
        var bundle: [(address: ObjectAddress, bytes: [UInt8])] = []
        var bundleSize = 0
        var unavailable = Set<ObjectAddress>()
        for address in walk.damaged.sorted() {
            let bytes: [UInt8]
            do { bytes = try await from.repository.objectBytes(address) } catch ObjectError.missing {
                report.unhealable.append(AuditFinding(.missingObject, source: from.name, object: address, message: "needed to heal \(to.name), but missing here too"))
                unavailable.insert(address)
                continue
            }
            guard SHA256Hasher.digest(bytes) == address.digest else {
                report.unhealable.append(AuditFinding(.corruptObject, source: from.name, object: address, message: "needed to heal \(to.name), but damaged here too"))
                unavailable.insert(address)
                continue
            }
            if !ObjectBundle.accepts(bytes.count, count: bundle.count, bytes: bundleSize, targetBytes: Self.bundleBytes) {
                try await send(bundle, to: target, report: &report)
                bundle = []
                bundleSize = 0
            }
            bundle.append((address, bytes))
            bundleSize += ObjectBundle.framing + bytes.count
        }
        try await send(bundle, to: target, report: &report)
        for seal in sealsToCopy {
            do {
                if try await target.putSeal(seal) { report.sealsCopied.append(seal.name.short) }
            } catch let error as SiteClientError {
                report.unhealable.append(AuditFinding(.missingSeal, source: to.name, seals: [seal.name.short], message: "the site refused the seal: \(error)"))
            }
        }
        report.unhealable += try await remaining(sealsToCopy, objects: walk.damaged.subtracting(unavailable), at: to, copiedFrom: from.name)
        report.seconds = Date().timeIntervalSince(started)
        logger.info("heal finished", metadata: ["from": "\(from.name)", "to": "\(to.name)", "objects": "\(report.objectsCopied)", "seals": "\(report.sealsCopied.count)"])
        return report
    }

    /// What is still wrong at `to` after healing, read back from it rather than taken from the
    /// answers it gave: its seals must verify and chain (a seal lost at both sites leaves a
    /// hole), each seal copied must now be there, each object copied must be present. A heal
    /// that leaves any of this behind is not complete.
    private func remaining(_ seals: [Seal], objects: Set<ObjectAddress>, at to: AuditSource, copiedFrom from: String) async throws -> [AuditFinding] {
        let catalog = try await SealCatalog.load(repository: to.repository, tenant: tenant)
        var findings = catalog.problems.map { AuditFinding.from($0, source: to.name) }
        let held = Set(catalog.seals.map(\.hash))
        for seal in seals where !held.contains(seal.hash) {
            findings.append(AuditFinding(.missingSeal, source: to.name, seals: [seal.name.short],
                                         message: "still not there after healing from \(from): the site answered, but does not hold it"))
        }
        for address in try await to.missing(Array(objects)).sorted() {
            findings.append(AuditFinding(.missingObject, source: to.name, object: address, message: "still missing after healing from \(from)"))
        }
        return findings
    }

    private func send(_ bundle: [(address: ObjectAddress, bytes: [UInt8])], to target: SiteClient, report: inout HealReport) async throws {
        guard !bundle.isEmpty else { return }
        _ = try await target.putObjects(bundle)
        report.objectsCopied += bundle.count
        report.bytesCopied += bundle.reduce(0) { $0 + $1.bytes.count }
    }
}
