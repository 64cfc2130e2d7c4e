import ArgumentParser
import Foundation
import Logging
import SkiffCore
import SkiffGraph
import SkiffSite
import SkiffSystem
import SkiffSiteProtocol

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Set, show, plan and apply a tenant's retention policy; hold snapshots; set the immutability window.",
        discussion: """
            Retiring a seal keeps its signed bytes (so its host's chain stays verifiable) and drops it from restores;
            `skiff-site gc` then deletes the objects nothing else reaches. Every change is written to the audit trail.
            Refusals: exit 3 (inside the immutability window, held, or a host's newest seal).
            """,
        subcommands: [Set.self, Show.self, Plan.self, Apply.self, Hold.self, Release.self, Immutability.self])

    struct TenantOption: ParsableArguments {
        @OptionGroup var data: DataOptions
        @Option(name: .long, help: "The tenant (name or id).")
        var tenant: String

        func open() throws -> (SiteService, TenantRecord) {
            let service = try SiteCommandService.open(data)
            return (service, try SiteCommandService.tenants(tenant, in: service.registry)[0])
        }
    }

    static func seconds(_ text: String, _ option: String) throws -> Int {
        guard let value = TimeFormat.parseDuration(text) else {
            throw SiteCommandFailure.usage("\(option) takes a duration such as 90s, 30m, 36h, 14d or 2w")
        }
        return value
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the policy (options not given keep their current value).")
        @OptionGroup var target: TenantOption
        @Option(name: .long, help: ArgumentHelp("Keep every seal within this long of the host's newest (e.g. 48h); 'all' keeps everything.", valueName: "DURATION"))
        var keepWithin: String?
        @Option(name: .long, help: "Keep the newest seal of each of the last N hours.") var hourly: Int?
        @Option(name: .long, help: "… days.") var daily: Int?
        @Option(name: .long, help: "… ISO weeks.") var weekly: Int?
        @Option(name: .long, help: "… months.") var monthly: Int?
        @Option(name: .long, help: "… years.") var yearly: Int?
        @Option(name: .long, help: ArgumentHelp("Never collect objects stored or vouched for within this long (default 24h).", valueName: "DURATION"))
        var grace: String?
        @Option(name: .long, help: ArgumentHelp("Keep what retired seals reach within this long of the host's newest seal (default 31d; hosts reuse only what they saw within 30d).", valueName: "DURATION"))
        var reuseHorizon: String?

        func run() throws {
            let (service, tenant) = try target.open()
            var policy = try service.registry.retentionSettings(tenant: tenant.id).policy
            if let keepWithin { policy.keepWithin = keepWithin == "all" ? nil : try RetentionCommand.seconds(keepWithin, "--keep-within") }
            for (value, path) in [(hourly, \RetentionPolicy.hourly), (daily, \.daily), (weekly, \.weekly), (monthly, \.monthly), (yearly, \.yearly)] {
                if let value {
                    guard value >= 0 else { throw SiteCommandFailure.usage("counts cannot be negative") }
                    policy[keyPath: path] = value
                }
            }
            if let grace { policy.graceSeconds = try RetentionCommand.seconds(grace, "--grace") }
            if let reuseHorizon { policy.reuseHorizonSeconds = try RetentionCommand.seconds(reuseHorizon, "--reuse-horizon") }
            try service.registry.setRetentionPolicy(policy, tenant: tenant.id)
            let text = String(decoding: try SiteAPI.jsonEncoder().encode(policy), as: UTF8.self)
            try service.registry.audit(actor: SiteService.consoleAdministrator().tokenID, action: "retention-policy", tenant: tenant.id, detail: text)
            print("retention policy of \(tenant.name): \(Show.describe(policy))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policy, the immutability window and the holds.")
        @OptionGroup var target: TenantOption
        @OptionGroup var output: JSONFlag

        func run() throws {
            let (service, tenant) = try target.open()
            let settings = try service.registry.retentionSettings(tenant: tenant.id)
            if output.json { return try output.print(settings) }
            print("policy: \(Self.describe(settings.policy))")
            var window = "immutability window: \(TimeFormat.duration(settings.immutability.seconds))"
            if let pending = settings.immutability.pendingSeconds, let from = settings.immutability.pendingEffective {
                window += " (\(TimeFormat.duration(pending)) from \(ISO8601DateFormatter().string(from: from)))"
            }
            print(window)
            for hold in settings.holds { print("hold: \(hold.host)#\(hold.sequence)  \(hold.label)  (by \(hold.actor))") }
        }

        static func describe(_ policy: RetentionPolicy) -> String {
            guard let keepWithin = policy.keepWithin else {
                return "keep every seal; grace \(TimeFormat.duration(policy.graceSeconds)), reuse horizon \(TimeFormat.duration(policy.reuseHorizonSeconds))"
            }
            let counts = [("hourly", policy.hourly), ("daily", policy.daily), ("weekly", policy.weekly), ("monthly", policy.monthly), ("yearly", policy.yearly)]
                .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
            return "keep everything within \(TimeFormat.duration(keepWithin)) of each host's newest seal"
                + (counts.isEmpty ? "" : ", then \(counts.joined(separator: ", "))")
                + "; grace \(TimeFormat.duration(policy.graceSeconds)), reuse horizon \(TimeFormat.duration(policy.reuseHorizonSeconds))"
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what applying the policy now would retire, and why (changes nothing).")
        @OptionGroup var target: TenantOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            let (service, tenant) = try target.open()
            let plan = try await withCleanup {
                try await service.retentionPlan(tenant: tenant, principal: SiteService.consoleAdministrator())
            } cleanup: {
                await service.stores.shutdown()
            }
            if output.json { return try output.print(plan) }
            for decision in plan.decisions {
                let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(decision.time) / 1e9))
                print("\(decision.keep ? "keep  " : "retire") \(decision.host)#\(decision.sequence)  \(time)  \(decision.reasons.joined(separator: "; "))")
            }
            print("\(plan.decisions.count - plan.retired.count) kept, \(plan.retired.count) to retire")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire the seals the plan retires (then run `skiff-site gc`).")
        @OptionGroup var target: TenantOption
        @OptionGroup var output: JSONFlag

        func run() async throws {
            let (service, tenant) = try target.open()
            let report = try await withCleanup {
                try await service.applyRetention(tenant: tenant, principal: SiteService.consoleAdministrator())
            } cleanup: {
                await service.stores.shutdown()
            }
            if output.json { return try output.print(report) }
            print("\(report.retired.count) seals retired" + (report.refused.isEmpty ? "" : ", \(report.refused.count) refused: \(report.refused.joined(separator: ", "))"))
        }
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Protect a snapshot from retirement indefinitely (legal hold).")
        @OptionGroup var target: TenantOption
        @Option(name: .long, help: "The snapshot, as host#sequence.") var snapshot: String
        @Option(name: .long, help: "Why (case number, request).") var label: String

        func run() throws {
            let (service, tenant) = try target.open()
            let (host, sequence) = try RetentionCommand.snapshot(snapshot)
            let actor = SiteService.consoleAdministrator().tokenID
            try service.registry.addHold(RetentionHold(host: host, sequence: sequence, label: label, created: Date(), actor: actor), tenant: tenant.id)
            try service.registry.audit(actor: actor, action: "hold", tenant: tenant.id, detail: "\(host)#\(sequence): \(label)")
            print("held \(host)#\(sequence)")
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a hold.")
        @OptionGroup var target: TenantOption
        @Option(name: .long, help: "The snapshot, as host#sequence.") var snapshot: String

        func run() throws {
            let (service, tenant) = try target.open()
            let (host, sequence) = try RetentionCommand.snapshot(snapshot)
            try service.registry.removeHold(host: host, sequence: sequence, tenant: tenant.id)
            try service.registry.audit(actor: SiteService.consoleAdministrator().tokenID, action: "release-hold", tenant: tenant.id, detail: "\(host)#\(sequence)")
            print("released \(host)#\(sequence)")
        }
    }

    struct Immutability: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the immutability window: no seal or object younger can be removed by anyone.",
            discussion: "A longer window applies at once; a shorter one only after the current window has passed.")
        @OptionGroup var target: TenantOption
        @Option(name: .long, help: ArgumentHelp("The window, e.g. 14d.", valueName: "DURATION")) var window: String

        func run() throws {
            let (service, tenant) = try target.open()
            let seconds = try RetentionCommand.seconds(window, "--window")
            let recorded = try service.registry.setImmutability(seconds: seconds, tenant: tenant.id)
            var detail = "asked \(TimeFormat.duration(seconds)); in force \(TimeFormat.duration(recorded.seconds))"
            if let from = recorded.pendingEffective { detail += "; \(TimeFormat.duration(seconds)) from \(ISO8601DateFormatter().string(from: from))" }
            try service.registry.audit(actor: SiteService.consoleAdministrator().tokenID, action: "immutability-window", tenant: tenant.id, detail: detail)
            print("immutability window of \(tenant.name): \(detail)")
        }
    }

    static func snapshot(_ text: String) throws -> (String, UInt64) {
        guard let hash = text.lastIndex(of: "#"), let sequence = UInt64(text[text.index(after: hash)...]) else {
            throw SiteCommandFailure.usage("a snapshot is host#sequence")
        }
        return (String(text[..<hash]), sequence)
    }
}

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete a tenant's objects that no kept seal reaches (safe while the server runs and hosts upload).",
        discussion: "Exit 3 when the tenant's objects are incomplete (heal first): nothing is deleted then.")
    @OptionGroup var target: RetentionCommand.TenantOption
    @OptionGroup var output: JSONFlag

    func run() async throws {
        let (service, tenant) = try target.open()
        let report: CollectionReport
        do {
            report = try await withCleanup {
                try await service.collectGarbage(tenant: tenant, principal: SiteService.consoleAdministrator())
            } cleanup: {
                await service.stores.shutdown()
            }
        } catch let error as SiteError where error.status < 500 {
            throw SiteCommandFailure(code: 3, message: error.message)
        }
        if output.json { return try output.print(report) }
        print("""
            \(report.deletedObjects) objects deleted (\(report.deletedBytes) bytes) of \(report.examined); \(report.reachable) reachable from \
            \(report.roots) seals; \(report.keptYoung) unreachable but too young; \(String(format: "%.1f", report.seconds)) s
            space: \(report.counts.compaction.summary)
            """)
    }
}
