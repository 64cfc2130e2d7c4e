import ArgumentParser
import Logging
import SkiffSite
import SkiffSystem

/// `skiff-site check`: the tenants' stores against the site's index.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check each tenant's store against the site's index: every seal file indexed, every indexed seal's file present and intact.",
        discussion: """
            With --repair, fixes what the index can (indexes verified seal files it did not list, retired flags, heads);
            a seal file that is missing or damaged needs the seal again: `skiff heal` from another site, or its host's
            `skiff sync`. The server does the same at every start (without --deep) and after every scrub pass.
            Exit 0 when nothing is left to fix, 6 when something is.
            """)

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: "Only this tenant (name or id).")
    var tenant: String?
    @Flag(name: .long, help: "Read every seal file back and check it hashes to its name (without: presence only).")
    var deep = false
    @Flag(name: .long, help: "Repair what the index can.")
    var repair = false
    @OptionGroup var output: JSONFlag

    func run() async throws {
        let service = try SiteCommandService.open(data)
        let findings = try await withCleanup {
            var findings: [IndexFinding] = []
            for tenant in try SiteCommandService.tenants(tenant, in: service.registry) {
                findings += try await service.checkIndex(tenant: tenant, deep: deep, repair: repair)
            }
            return findings
        } cleanup: {
            await service.stores.shutdown()
        }
        if output.json {
            try output.print(findings)
        } else {
            for finding in findings { print(finding) }
            let left = findings.filter { !$0.repaired }.count
            print(findings.isEmpty ? "the stores and the index agree" : "\(findings.count) problems, \(findings.count - left) repaired, \(left) left")
        }
        if findings.contains(where: { !$0.repaired }) { throw SiteCommandFailure(code: 6, message: "the stores and the index disagree") }
    }
}
