import Foundation
import SkiffCore
import SkiffGraph
import SkiffSiteProtocol

/// What retention would do with each seal of a tenant, and why: the answer of
/// `skiff-site retention plan` and `GET …/retention/plan`. Pure: no I/O.
package struct RetentionPlan: Codable, Sendable, Equatable {
    /// A seal as retention sees it.
    package struct Candidate: Sendable, Equatable {
        package var host: String
        package var sequence: UInt64
        /// Unix nanoseconds, from the seal.
        package var time: Int64
        package var hash: String
        /// When this site accepted it (its clock, not the host's).
        package var accepted: Date

        package init(host: String, sequence: UInt64, time: Int64, hash: String, accepted: Date) {
            self.host = host
            self.sequence = sequence
            self.time = time
            self.hash = hash
            self.accepted = accepted
        }
    }

    package struct Decision: Codable, Sendable, Equatable {
        package var host: String
        package var sequence: UInt64
        package var time: Int64
        package var hash: String
        package var keep: Bool
        /// Every rule that keeps it, or why it goes.
        package var reasons: [String]
    }

    package var decisions: [Decision]

    package var retired: [Decision] { decisions.filter { !$0.keep } }

    /// Decides for every seal. A seal is kept when it is its host's newest (the chain head),
    /// is held, was accepted within the immutability window, lies within `keepWithin` of its
    /// host's newest seal, or is the newest of one of the last N hours/days/weeks/months/years;
    /// otherwise it is retired. Without `keepWithin` in the policy nothing is retired.
    package static func make(policy: RetentionPolicy, seals: [Candidate], holds: [RetentionHold], immutableSeconds: Int, now: Date) -> RetentionPlan {
        var decisions: [Decision] = []
        let held = Dictionary(holds.map { ("\($0.host)#\($0.sequence)", $0.label) }, uniquingKeysWith: { a, _ in a })
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for (host, hostSeals) in Dictionary(grouping: seals, by: \.host).sorted(by: { $0.key < $1.key }) {
            let newestFirst = hostSeals.sorted { ($0.sequence) > ($1.sequence) }
            let newestTime = newestFirst[0].time
            var buckets = BucketCounter(policy: policy, calendar: calendar)
            for (index, seal) in newestFirst.enumerated() {
                var reasons: [String] = []
                if index == 0 { reasons.append("newest seal of \(host) (chain head)") }
                if let label = held["\(host)#\(seal.sequence)"] { reasons.append("hold: \(label)") }
                let immutableUntil = seal.accepted.addingTimeInterval(TimeInterval(immutableSeconds))
                if immutableUntil > now { reasons.append("immutable until \(Self.iso(immutableUntil))") }
                guard let keepWithin = policy.keepWithin else {
                    decisions.append(Decision(host: host, sequence: seal.sequence, time: seal.time, hash: seal.hash, keep: true,
                                              reasons: reasons + ["the policy keeps every seal"]))
                    continue
                }
                if newestTime - seal.time <= Int64(keepWithin) * 1_000_000_000 {
                    reasons.append("within \(TimeFormat.duration(keepWithin)) of the newest seal")
                }
                reasons += buckets.claim(Date(timeIntervalSince1970: Double(seal.time) / 1e9))
                let keep = !reasons.isEmpty
                decisions.append(Decision(host: host, sequence: seal.sequence, time: seal.time, hash: seal.hash, keep: keep,
                                          reasons: keep ? reasons : ["outside every keep rule"]))
            }
        }
        return RetentionPlan(decisions: decisions)
    }

    /// The newest seal of each new hour/day/week/month/year claims that period, until each
    /// rule has claimed its count of periods (seals arrive newest first).
    private struct BucketCounter {
        struct Rule {
            let name: String
            let limit: Int
            let key: (Date) -> String
            var seen: [String] = []
        }

        var rules: [Rule]

        init(policy: RetentionPolicy, calendar: Calendar) {
            func key(_ components: Set<Calendar.Component>) -> (Date) -> String {
                { date in
                    let c = calendar.dateComponents(components, from: date)
                    return [c.yearForWeekOfYear, c.weekOfYear, c.year, c.month, c.day, c.hour].compactMap { $0.map(String.init) }.joined(separator: "-")
                }
            }
            rules = [
                Rule(name: "hourly", limit: policy.hourly, key: key([.year, .month, .day, .hour])),
                Rule(name: "daily", limit: policy.daily, key: key([.year, .month, .day])),
                Rule(name: "weekly", limit: policy.weekly, key: key([.yearForWeekOfYear, .weekOfYear])),
                Rule(name: "monthly", limit: policy.monthly, key: key([.year, .month])),
                Rule(name: "yearly", limit: policy.yearly, key: key([.year])),
            ].filter { $0.limit > 0 }
        }

        mutating func claim(_ date: Date) -> [String] {
            var reasons: [String] = []
            for index in rules.indices {
                let key = rules[index].key(date)
                guard rules[index].seen.count < rules[index].limit, rules[index].seen.last != key else { continue }
                rules[index].seen.append(key)
                reasons.append("\(rules[index].name) \(rules[index].seen.count)/\(rules[index].limit)")
            }
            return reasons
        }
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }
}

/// `POST …/gc` and `skiff-site gc` answer: what one collection did.
@dynamicMemberLookup
package struct CollectionReport: Codable, Sendable, Equatable {
    package var tenant: String
    package var started: Date
    package var seconds: Double
    /// What the collection found and did: `roots` are the retained seals plus retired ones
    /// within the reuse horizon, `keptYoung` the unreachable objects younger than the grace
    /// period or the immutability window, `putBack` those a host was told were present during
    /// the run. Read and written through the report (`report.deletedObjects`), and coded flat,
    /// beside the fields above.
    package var counts = CollectionCounts()

    package init(tenant: String, started: Date) {
        self.tenant = tenant
        self.started = started
        seconds = 0
    }

    package subscript(dynamicMember count: WritableKeyPath<CollectionCounts, Int>) -> Int {
        get { counts[keyPath: count] }
        set { counts[keyPath: count] = newValue }
    }

    enum CodingKeys: String, CodingKey {
        case tenant, started, seconds
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tenant = try container.decode(String.self, forKey: .tenant)
        started = try container.decode(Date.self, forKey: .started)
        seconds = try container.decode(Double.self, forKey: .seconds)
        counts = try CollectionCounts(from: decoder)
    }

    package func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(started, forKey: .started)
        try container.encode(seconds, forKey: .seconds)
    }
}

/// `POST …/retention/apply` answer.
package struct RetirementReport: Codable, Sendable, Equatable {
    package var retired: [String]
    package var refused: [String]

    package init(retired: [String], refused: [String]) {
        self.retired = retired
        self.refused = refused
    }
}
