import ArgumentParser
import SkiffCore
import SkiffSite

struct AuditTrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-trail",
        abstract: "Show the site's audit trail: administrative actions and refused attempts, newest first.")

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "How many entries.")
    var limit: Int = 50
    @Option(name: .long, help: "Only entries of this tenant (name or id).")
    var tenant: String?
    @OptionGroup var output: JSONFlag

    func run() throws {
        guard (1...1_000_000).contains(limit) else { throw SiteCommandFailure.usage("--limit is 1 to 1000000") }
        let registry = try data.registry()
        var id: TenantID?
        if let tenant {
            guard let record = try registry.tenant(named: tenant) else { throw SiteCommandFailure.usage("no tenant \(tenant)") }
            id = record.id
        }
        let entries = try registry.auditTrail(limit: limit, tenant: id)
        if output.json { return try output.print(entries) }
        for entry in entries {
            var who = entry.actor
            if let role = entry.role { who += " (\(role))" }
            if let client = entry.client { who += " from \(client)" }
            let subject = entry.subject.map { "  \($0)" } ?? ""
            print("\(entry.time)  \(who)  \(entry.action)  \(entry.tenant ?? "-")\(subject)  \(entry.detail)")
        }
    }
}
