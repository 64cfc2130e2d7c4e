import ArgumentParser
import SkiffSite

struct AuditTrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-trail",
        abstract: "Show the site's audit trail: administrative actions and refused attempts, newest first.")

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "How many entries.")
    var limit: Int = 50
    @OptionGroup var output: JSONFlag

    func run() throws {
        let entries = try data.registry().auditTrail(limit: limit)
        if output.json { return try output.print(entries) }
        for entry in entries {
            print("\(entry.time)  \(entry.actor)  \(entry.action)  \(entry.tenant ?? "-")  \(entry.detail)")
        }
    }
}
