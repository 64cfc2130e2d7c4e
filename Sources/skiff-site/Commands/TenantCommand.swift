import ArgumentParser
import Foundation
import SkiffCore
import SkiffSite
import SkiffSystem

struct TenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Add and list tenants, and set their quotas.", subcommands: [Add.self, List.self, TenantQuotaCommand.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a tenant from its public key (`skiff key export --public`).")

        @OptionGroup var data: DataOptions
        @Argument(help: "A name for the tenant (letters, digits, '.', '_', '-').")
        var name: String
        @Option(name: .long, help: ArgumentHelp("The tenant public key file.", valueName: "FILE"))
        var key: String

        func run() async throws {
            let service = try SiteCommandService.open(data)
            let registry = service.registry
            let text = String(decoding: try FileIO.readFile(RawPath(key)), as: UTF8.self)
            let publicKey: TenantPublicKey
            do { publicKey = try TenantPublicKey.dearmor(text) } catch {
                throw SiteCommandFailure.key("\(key) is not a tenant public key: \(error)")
            }
            let record = try registry.addTenant(name: name, publicKey: publicKey)
            try registry.audit(actor: "cli", action: "add-tenant", tenant: record.id, detail: "name \(name), key \(publicKey.fingerprint)")
            try await SiteCommandService.mirror(record, with: service)
            print("tenant \(name) added: id \(record.id), key fingerprint \(publicKey.fingerprint)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: JSONFlag

        struct Row: Encodable {
            var name: String
            var id: String
            var fingerprint: String
            var created: Date
        }

        func run() throws {
            let rows = try data.registry().tenants().map { Row(name: $0.name, id: $0.id.hex, fingerprint: $0.publicKey.fingerprint, created: $0.created) }
            if output.json { return try output.print(rows) }
            for row in rows { print("\(row.name)  \(row.id)  key \(row.fingerprint.prefix(16))…") }
        }
    }
}
