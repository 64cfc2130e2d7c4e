import Foundation
import Glibc
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol
import SkiffStorage

/// Retention at a site: what the policy would retire, retiring seals, and the refusals that
/// keep history safe (writers never retire; nothing inside the immutability window, held, or
/// at the head of a chain is retired by anyone).
extension SiteService {
    /// A site administrator at the console (`skiff-site` commands on the data folder).
    package static func consoleAdministrator() -> Principal {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["SUDO_USER"] ?? environment["USER"] ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
        return Principal(tokenID: "console:\(user)", role: .admin, tenants: [], host: nil)
    }

    package func retentionSettings(tenant: TenantRecord, principal: Principal) throws -> RetentionSettings {
        return try registry.retentionSettings(tenant: tenant.id)
    }

    /// What applying the policy now would retire, seal by seal, with the reasons.
    /// On a shared store, first indexes what other site processes accepted and retired.
    package func retentionPlan(tenant: TenantRecord, principal: Principal, now: Date = Date()) async throws -> RetentionPlan {
        try await catchUpEveryHost(tenant: tenant)
        let settings = try registry.retentionSettings(tenant: tenant.id)
        return RetentionPlan.make(policy: settings.policy, seals: try registry.retentionCandidates(tenant: tenant.id), holds: settings.holds,
                                  immutableSeconds: settings.immutability.effective(at: now), now: now)
    }

    /// Retires every seal the plan retires. Seals that became protected since the plan was
    /// made (a new hold, a new head) are left and listed as refused.
    package func applyRetention(tenant: TenantRecord, principal: Principal, now: Date = Date()) async throws -> RetirementReport {
        var report = RetirementReport(retired: [], refused: [])
        for decision in try await retentionPlan(tenant: tenant, principal: principal, now: now).retired {
            do {
                guard let hash = Digest256(hex: decision.hash) else { continue }
                try await retireSeal(tenant: tenant, name: SealName(host: decision.host, sequence: decision.sequence, hash: hash),
                                     principal: principal, reason: decision.reasons.joined(separator: "; "), now: now)
                report.retired.append("\(decision.host)#\(decision.sequence)")
            } catch let error as SiteError where error.status < 500 {
                report.refused.append("\(decision.host)#\(decision.sequence): \(error.code.rawValue)")
                try registry.audit(actor: principal.tokenID, action: "refused-retire", tenant: tenant.id,
                                   detail: "\(decision.host)#\(decision.sequence): \(error.code.rawValue): \(error.message)")
            }
        }
        try registry.audit(actor: principal.tokenID, action: "retention-apply", tenant: tenant.id,
                           detail: "\(report.retired.count) seals retired, \(report.refused.count) refused")
        return report
    }

    /// Retires one seal: its bytes move from `seals/` to `retired/` (still listed, read and
    /// verified as part of its host's chain, never used for restores), so the objects only it
    /// reached become garbage once they leave the reuse horizon. Idempotent.
    /// - Throws: `forbidden` (not an administrator), `not-found` (no seal of that name),
    ///   `immutable` (accepted within the immutability window), `held`, `chain-head` (the
    ///   host's newest seal). Refusals of requests are written to the audit trail by
    ///   `SiteRefusalTrail`, refusals within `applyRetention` by it.
    package func retireSeal(tenant: TenantRecord, name: SealName, principal: Principal, reason: String, now: Date = Date()) async throws {
        let (host, sequence) = (name.host, name.sequence)
        try await sealLocks.withLock("\(tenant.id.hex)/\(host)") {
            guard let entry = try registry.sealEntry(tenant: tenant.id, host: host, sequence: sequence), entry.hash == name.hash.hex else {
                throw SiteError.notFound("no seal \(name)")
            }
            guard entry.retired == nil else { return }
            let settings = try registry.retentionSettings(tenant: tenant.id)
            let window = settings.immutability.effective(at: now)
            let refusal: SiteError?
            if entry.accepted.addingTimeInterval(TimeInterval(window)) > now {
                let until = ISO8601DateFormatter().string(from: entry.accepted.addingTimeInterval(TimeInterval(window)))
                refusal = SiteError(.immutable, "seal #\(sequence) of \(host) is inside the immutability window (\(TimeFormat.duration(window))) until \(until)")
            } else if let hold = settings.holds.first(where: { $0.host == host && $0.sequence == sequence }) {
                refusal = SiteError(.held, "seal #\(sequence) of \(host) is held: \(hold.label)")
            } else if try registry.head(tenant: tenant.id, host: host)?.sequence == sequence {
                refusal = SiteError(.chainHead, "seal #\(sequence) is the newest seal of \(host); the next seal chains to it")
            } else {
                refusal = nil
            }
            if let refusal { throw refusal }
            let store = try store(tenant.id)
            let bytes = try await store.get(.seal(name))
            _ = try await store.put(.retiredSeal(name), bytes)
            try await store.flush()
            try registry.markRetired(tenant: tenant.id, host: host, sequence: sequence, at: now)
            try await store.delete(.seal(name))
            try registry.audit(actor: principal.tokenID, action: "retire-seal", tenant: tenant.id, detail: "\(name.short): \(reason)")
            metrics.sealRetired(tenant: tenant.name)
        }
    }

    /// The bytes of a retired seal.
    package func getRetiredSeal(tenant: TenantRecord, name: SealName, principal: Principal) async throws -> [UInt8] {
        try await sealBytes(.retiredSeal(name), name: name, tenant: tenant, principal: principal)
    }

    /// Runs garbage collection for a tenant (administrators only).
    package func collectGarbage(tenant: TenantRecord, principal: Principal) async throws -> CollectionReport {
        // One collection per tenant at a time in this process.
        return try await sealLocks.withLock("gc/\(tenant.id.hex)") {
            do {
                return try await SiteCollector(service: self).collect(tenant: tenant, actor: principal.tokenID)
            } catch let error as StoreError {
                throw SiteError.internalError("\(error)")
            }
        }
    }

}
