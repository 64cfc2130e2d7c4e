import Foundation
import SkiffGraph
import SkiffSite
import SkiffSiteProtocol
import Testing

/// The retention planner alone: which seals each rule keeps, and why.
@Suite struct RetentionPlanTests {
    static let hour: Int64 = 3_600_000_000_000
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// One seal of "h" every 20 minutes for 3 days, all accepted long ago.
    static func seals(count: Int = 216, host: String = "h") -> [RetentionPlan.Candidate] {
        (0..<count).map { index in
            RetentionPlan.Candidate(host: host, sequence: UInt64(index + 1), time: Int64(start.timeIntervalSince1970) * 1_000_000_000 + Int64(index) * hour / 3,
                                    hash: String(repeating: "0", count: 64), accepted: start)
        }
    }

    static let later = start.addingTimeInterval(30 * 86_400)

    @Test func withoutAWindowEverySealIsKept() {
        let plan = RetentionPlan.make(policy: .keepEverything, seals: Self.seals(), holds: [], immutableSeconds: 0, now: Self.later)
        #expect(plan.retired.isEmpty && plan.decisions.count == 216)
    }

    @Test func theWindowAndHourlyAndDailyRulesKeepWhatTheySay() {
        var policy = RetentionPolicy()
        policy.keepWithin = 2 * 3600
        policy.hourly = 5
        policy.daily = 2
        let plan = RetentionPlan.make(policy: policy, seals: Self.seals(), holds: [], immutableSeconds: 0, now: Self.later)
        let kept = plan.decisions.filter(\.keep).map(\.sequence).sorted()
        // The window: the newest and the 6 seals within 2 h before it (216 … 210).
        #expect(Set(210...216).isSubset(of: Set(kept.map(Int.init))))
        // Hourly: the newest seal of the last 5 distinct hours; daily: of the last 2 days.
        let hourly = plan.decisions.filter { $0.reasons.contains { $0.hasPrefix("hourly") } }
        #expect(hourly.count == 5)
        let daily = plan.decisions.filter { $0.reasons.contains { $0.hasPrefix("daily") } }
        #expect(daily.count == 2 && daily.map(\.sequence).contains(216))
        #expect(plan.retired.count == 216 - kept.count && plan.retired.count > 190)
        #expect(plan.retired.allSatisfy { $0.reasons == ["outside every keep rule"] })
    }

    @Test func holdsImmutabilityAndTheChainHeadOverrideThePolicy() {
        var policy = RetentionPolicy()
        policy.keepWithin = 0
        var seals = Self.seals(count: 10)
        seals[3].accepted = Self.later.addingTimeInterval(-3600)
        let hold = RetentionHold(host: "h", sequence: 2, label: "case 42", created: Self.start, actor: "console:test")
        let plan = RetentionPlan.make(policy: policy, seals: seals, holds: [hold], immutableSeconds: 86_400, now: Self.later)
        let kept = Dictionary(uniqueKeysWithValues: plan.decisions.filter(\.keep).map { ($0.sequence, $0.reasons.joined(separator: "; ")) })
        #expect(kept.keys.sorted() == [2, 4, 10])
        #expect(kept[2]!.contains("hold: case 42") && kept[4]!.contains("immutable until") && kept[10]!.contains("chain head"))
    }

    @Test func shorteningTheImmutabilityWindowWaitsForTheCurrentOne() {
        let now = Self.start
        let window = ImmutabilityWindow(seconds: 14 * 86_400)
        let shorter = window.changed(to: 86_400, at: now)
        #expect(shorter.effective(at: now) == 14 * 86_400)
        #expect(shorter.effective(at: now.addingTimeInterval(14 * 86_400)) == 86_400)
        #expect(window.changed(to: 30 * 86_400, at: now).effective(at: now) == 30 * 86_400)
        #expect(TimeFormat.parseDuration("36h") == 129_600 && TimeFormat.parseDuration("2w") == 1_209_600 && TimeFormat.parseDuration("x") == nil)
    }
}
