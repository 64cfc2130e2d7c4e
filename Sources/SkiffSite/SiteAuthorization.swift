import SkiffSiteProtocol

/// Which roles may call which operation: the site's whole role matrix in one table
/// (docs/PROTOCOL.md, "Roles"), checked once per request by `SiteAuthMiddleware` before any
/// handler runs. The switch is exhaustive, so a new operation cannot be added without deciding
/// who may call it.
///
/// What depends on the resource is checked where the resource is known, by `SiteService`: that
/// the token covers the tenant, that a writer's host is registered, and that a writer writes
/// and reads only its own host's seals.
extension Principal {
    /// - Throws: `SiteError.forbidden` when the principal's role may not call `operation`.
    package func authorize(_ operation: SiteOperation) throws {
        switch operation {
        case .health, .metrics, .missing, .headObject, .listSeals, .getSeal, .getRetiredSeal:
            return
        case .putObject, .putObjects, .putSeal:
            guard role == .writer || role == .admin else { throw SiteError.forbidden("a \(role.rawValue) token cannot upload") }
        case .fetch, .getObject, .listObjects, .scrubStatus, .retentionSettings, .retentionPlan:
            guard role != .writer else { throw SiteError.forbidden("a writer token cannot read objects, listings or settings") }
        case .deleteObject, .retireSeal, .applyRetention, .collectGarbage:
            guard role == .admin else { throw SiteError.forbidden("only administrators may \(operation.trailName)") }
        }
    }
}
