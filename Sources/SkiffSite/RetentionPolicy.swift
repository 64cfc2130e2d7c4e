import Foundation

/// How long a tenant's seals are kept at a site, set by a site administrator. In the style of
/// `restic forget --keep-*`: a seal is kept when any rule keeps it; the rest are retired.
/// Retiring a seal only drops it from restores: its signed bytes stay (docs/FORMAT.md §10),
/// and the objects that only it reached become garbage for `SiteCollector`.
///
/// The default policy keeps every seal.
package struct RetentionPolicy: Codable, Sendable, Equatable {
    /// Keep every seal taken within this many seconds of the host's newest seal: the
    /// continuous-protection window. Nil keeps every seal (no thinning at all).
    package var keepWithin: Int?
    /// Beyond the window, keep the newest seal of each of the last N hours, days, ISO weeks,
    /// months and years (UTC) in which the host has seals.
    package var hourly = 0
    package var daily = 0
    package var weekly = 0
    package var monthly = 0
    package var yearly = 0
    /// Garbage collection never deletes an object stored, or vouched for to a host, within
    /// this many seconds: it may belong to a seal still on its way (ordering rule G3).
    package var graceSeconds = 86_400
    /// Garbage collection keeps everything reachable from any seal, retired or not, taken
    /// within this many seconds of its host's newest seal here: hosts reuse objects they
    /// saw within a shorter horizon (ordering rules G2 and W6).
    package var reuseHorizonSeconds = 31 * 86_400

    package init() {}

    /// Missing fields take their defaults, so a policy stored by an older version still reads.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RetentionPolicy()
        keepWithin = try container.decodeIfPresent(Int.self, forKey: .keepWithin)
        hourly = try container.decodeIfPresent(Int.self, forKey: .hourly) ?? defaults.hourly
        daily = try container.decodeIfPresent(Int.self, forKey: .daily) ?? defaults.daily
        weekly = try container.decodeIfPresent(Int.self, forKey: .weekly) ?? defaults.weekly
        monthly = try container.decodeIfPresent(Int.self, forKey: .monthly) ?? defaults.monthly
        yearly = try container.decodeIfPresent(Int.self, forKey: .yearly) ?? defaults.yearly
        graceSeconds = try container.decodeIfPresent(Int.self, forKey: .graceSeconds) ?? defaults.graceSeconds
        reuseHorizonSeconds = try container.decodeIfPresent(Int.self, forKey: .reuseHorizonSeconds) ?? defaults.reuseHorizonSeconds
    }

    package static let keepEverything = RetentionPolicy()

    /// Whether this policy can retire anything at all.
    package var thins: Bool { keepWithin != nil }
}

/// A snapshot protected from retirement whatever the policy says (legal hold).
package struct RetentionHold: Codable, Sendable, Equatable {
    package var host: String
    package var sequence: UInt64
    package var label: String
    package var created: Date
    package var actor: String

    package init(host: String, sequence: UInt64, label: String, created: Date, actor: String) {
        self.host = host
        self.sequence = sequence
        self.label = label
        self.created = created
        self.actor = actor
    }
}

/// The immutability window of a tenant: nothing younger can be removed by anyone. A shorter
/// window only takes effect once the current one has passed (`pendingSeconds` from
/// `pendingEffective`).
package struct ImmutabilityWindow: Codable, Sendable, Equatable {
    package var seconds: Int
    package var pendingSeconds: Int?
    package var pendingEffective: Date?

    package init(seconds: Int, pendingSeconds: Int? = nil, pendingEffective: Date? = nil) {
        self.seconds = seconds
        self.pendingSeconds = pendingSeconds
        self.pendingEffective = pendingEffective
    }

    /// The window in force at `now`.
    package func effective(at now: Date) -> Int {
        if let pendingSeconds, let pendingEffective, now >= pendingEffective { return pendingSeconds }
        return seconds
    }

    /// The window after asking for `requested` at `now`: longer windows apply at once,
    /// shorter ones once the window in force has passed.
    package func changed(to requested: Int, at now: Date) -> ImmutabilityWindow {
        let current = effective(at: now)
        if requested >= current { return ImmutabilityWindow(seconds: requested) }
        return ImmutabilityWindow(seconds: current, pendingSeconds: requested, pendingEffective: now.addingTimeInterval(TimeInterval(current)))
    }
}

/// `GET …/retention` answer.
package struct RetentionSettings: Codable, Sendable, Equatable {
    package var policy: RetentionPolicy
    package var immutability: ImmutabilityWindow
    package var holds: [RetentionHold]

    package init(policy: RetentionPolicy, immutability: ImmutabilityWindow, holds: [RetentionHold]) {
        self.policy = policy
        self.immutability = immutability
        self.holds = holds
    }
}
