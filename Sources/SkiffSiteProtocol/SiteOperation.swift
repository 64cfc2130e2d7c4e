/// Every endpoint of the site protocol (docs/PROTOCOL.md, "Endpoints"): its method and path
/// pattern, once, for the server's routing, its refusal trail and its metrics.
package enum SiteOperation: String, CaseIterable, Sendable {
    case health
    case metrics
    case missing
    case putObject
    case putObjects
    case fetch
    case getObject
    case headObject
    case deleteObject
    case listObjects
    case putSeal
    case listSeals
    case getSeal
    case scrubStatus
    case retireSeal
    case getRetiredSeal
    case retentionSettings
    case retentionPlan
    case applyRetention
    case collectGarbage

    /// The HTTP method.
    package var method: String {
        switch self {
        case .health, .metrics, .getObject, .listObjects, .listSeals, .getSeal, .scrubStatus, .getRetiredSeal, .retentionSettings, .retentionPlan:
            return "GET"
        case .headObject: return "HEAD"
        case .missing, .putObjects, .fetch, .applyRetention, .collectGarbage: return "POST"
        case .putObject, .putSeal: return "PUT"
        case .deleteObject, .retireSeal: return "DELETE"
        }
    }

    /// The path, with parameters in braces: `{tenant}`, `{address}`, `{host}`, `{file}`.
    package var pattern: String {
        let tenant = "/v1/tenants/{tenant}"
        switch self {
        case .health: return "/v1/health"
        case .metrics: return "/metrics"
        case .missing: return "\(tenant)/missing"
        case .putObject, .getObject, .headObject, .deleteObject: return "\(tenant)/objects/{address}"
        case .putObjects, .listObjects: return "\(tenant)/objects"
        case .fetch: return "\(tenant)/fetch"
        case .putSeal, .listSeals: return "\(tenant)/seals"
        case .getSeal, .retireSeal: return "\(tenant)/seals/{host}/{file}"
        case .scrubStatus: return "\(tenant)/scrub"
        case .getRetiredSeal: return "\(tenant)/retired/{host}/{file}"
        case .retentionSettings: return "\(tenant)/retention"
        case .retentionPlan: return "\(tenant)/retention/plan"
        case .applyRetention: return "\(tenant)/retention/apply"
        case .collectGarbage: return "\(tenant)/gc"
        }
    }

    /// Whether the operation acts on one tenant (and so needs a token).
    package var isTenantScoped: Bool { self != .health && self != .metrics }

    /// Whether the operation changes what the site holds or retains: every refusal of one is
    /// written to the audit trail, whatever its reason.
    package var changesState: Bool {
        switch self {
        case .putObject, .putObjects, .deleteObject, .putSeal, .retireSeal, .applyRetention, .collectGarbage: return true
        default: return false
        }
    }

    /// The name the audit trail gives the operation ("put-objects").
    package var trailName: String {
        var name = ""
        for character in rawValue {
            if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
        }
        return name
    }

    /// The operation of a matched route, from its method and pattern.
    package init?(method: String, pattern: String) {
        guard let operation = Self.allCases.first(where: { $0.method == method && $0.pattern == pattern }) else { return nil }
        self = operation
    }
}
