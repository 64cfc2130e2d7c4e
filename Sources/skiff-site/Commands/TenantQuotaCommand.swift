import ArgumentParser
import Foundation
import SkiffCore
import SkiffSite

/// `skiff-site tenant quota`: show a tenant's quotas and use, or set them.
struct TenantQuotaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Show or set a tenant's quotas: bytes stored, and bytes uploaded that no seal reaches yet.",
        discussion: """
            Sizes take K, M, G, T, P (binary: 1G = 1024 MiB); 'none' removes a limit. Uploads that would pass a quota are
            refused with 507 quota-exceeded, which the host shows and retries; nothing stored is touched. The serving
            process counts use and writes it here about once a second (docs/PROTOCOL.md, "Quotas").
            """)

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "The tenant (name or id).")
    var tenant: String
    @Option(name: .long, help: ArgumentHelp("Most bytes of objects the tenant may store, or 'none'.", valueName: "SIZE"))
    var stored: String?
    @Option(name: .long, help: ArgumentHelp("Most bytes uploaded within the unsealed age that no accepted seal reaches, or 'none'.", valueName: "SIZE"))
    var unsealed: String?
    @Option(name: .long, help: ArgumentHelp("How long an upload counts as unsealed (90s, 15m, 36h, 2d).", valueName: "DURATION"))
    var unsealedAge: String?
    @OptionGroup var output: JSONFlag

    struct Report: Encodable {
        var tenant: String
        var quota: TenantQuota
        var usage: TenantUsage?
    }

    func run() throws {
        let registry = try data.registry()
        guard let record = try registry.tenant(named: tenant) else { throw SiteCommandFailure.usage("no tenant \(tenant)") }
        var quota = try registry.quota(tenant: record.id)
        if stored != nil || unsealed != nil || unsealedAge != nil {
            if let stored { quota.storedBytes = try Self.size(stored, option: "--stored") }
            if let unsealed { quota.unsealedBytes = try Self.size(unsealed, option: "--unsealed") }
            if let unsealedAge {
                guard let unit = unsealedAge.last, let seconds = DurationUnit.seconds(per: unit), let count = Int(unsealedAge.dropLast()), count > 0,
                      count <= Int.max / seconds else {
                    throw SiteCommandFailure.usage("--unsealed-age takes a positive duration such as 36h or 2d")
                }
                quota.unsealedSeconds = count * seconds
            }
            try registry.setQuota(quota, tenant: record.id)
            let actor = SiteService.consoleAdministrator().tokenID
            try registry.audit(actor: actor, action: "quota", tenant: record.id, detail: Self.describe(quota))
        }
        let report = Report(tenant: record.name, quota: quota, usage: try registry.reportedUsage(tenant: record.id))
        if output.json { return try output.print(report) }
        print("tenant \(record.name): \(Self.describe(quota))")
        if let usage = report.usage {
            let counted = usage.counted ? "" : " (still counting the store)"
            print("in use: \(ByteCount.text(usage.storedBytes)) in \(usage.storedObjects) objects stored, "
                  + "\(ByteCount.text(usage.unsealedBytes)) in \(usage.unsealedObjects) objects unsealed\(counted), as of \(usage.updated.map { "\($0)" } ?? "?")")
        } else {
            print("in use: not reported yet (the site has not served since quotas were introduced)")
        }
    }

    static func size(_ text: String, option: String) throws -> Int? {
        if text == "none" { return nil }
        guard let bytes = ByteCount.parse(text) else { throw SiteCommandFailure.usage("\(option) takes a size such as 500G, or none") }
        return bytes
    }

    static func describe(_ quota: TenantQuota) -> String {
        let stored = quota.storedBytes.map { ByteCount.text($0) } ?? "unlimited"
        let unsealed = quota.unsealedBytes.map { ByteCount.text($0) } ?? "unlimited"
        return "stored \(stored), unsealed \(unsealed) within \(quota.unsealedSeconds) s"
    }
}
