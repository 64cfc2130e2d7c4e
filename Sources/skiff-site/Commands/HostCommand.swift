import ArgumentParser
import Foundation
import SkiffCore
import SkiffSite
import SkiffSystem

struct HostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host", abstract: "Register the hosts whose seals the site accepts.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a host from its certificate (`skiff key export --host-certificate`).",
            discussion: "The certificate must be signed by the tenant's key; registering a name again replaces its key.")

        @OptionGroup var data: DataOptions
        @Option(name: .long, help: ArgumentHelp("The host certificate file.", valueName: "FILE"))
        var certificate: String

        func run() async throws {
            let service = try SiteCommandService.open(data)
            let registry = service.registry
            let text = String(decoding: try FileIO.readFile(RawPath(certificate)), as: UTF8.self)
            let tenantID: TenantID
            let hostCertificate: HostCertificate
            do { (tenantID, hostCertificate) = try HostCertificate.dearmor(text) } catch {
                throw SiteCommandFailure.key("\(certificate) is not a host certificate: \(error)")
            }
            guard let tenant = try registry.tenant(tenantID) else {
                throw SiteCommandFailure.usage("the certificate is for tenant \(tenantID), which this site does not know")
            }
            let record: HostRecord
            do { record = try registry.registerHost(tenant: tenant, certificate: hostCertificate) } catch let error as RegistryError {
                throw SiteCommandFailure.key("\(error)")
            }
            try registry.audit(actor: "cli", action: "register-host", tenant: tenant.id,
                               detail: "host \(record.name) key \(hostCertificate.publicKey.fingerprint)")
            try await SiteCommandService.mirror(tenant, with: service)
            print("host \(record.name) of tenant \(tenant.name) registered (key \(hostCertificate.publicKey.fingerprint.prefix(16))…)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's registered hosts.")
        @OptionGroup var data: DataOptions
        @Option(name: .long, help: "The tenant (name or id).")
        var tenant: String
        @OptionGroup var output: JSONFlag

        struct Row: Encodable {
            var name: String
            var key: String
            var registered: Date
        }

        func run() throws {
            let registry = try data.registry()
            guard let record = try registry.tenant(named: tenant) else { throw SiteCommandFailure.usage("no tenant \(tenant)") }
            let rows = try registry.hosts(tenant: record.id).map { Row(name: $0.name, key: $0.certificate.publicKey.fingerprint, registered: $0.registered) }
            if output.json { return try output.print(rows) }
            for row in rows { print("\(row.name)  key \(row.key.prefix(16))…") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop accepting a host's seals (its stored seals stay).")
        @OptionGroup var data: DataOptions
        @Option(name: .long, help: "The tenant (name or id).")
        var tenant: String
        @Argument(help: "The host name.")
        var name: String

        func run() async throws {
            let service = try SiteCommandService.open(data)
            let record = try SiteCommandService.tenants(tenant, in: service.registry)[0]
            try service.registry.removeHost(tenant: record.id, name: name)
            try service.registry.audit(actor: "cli", action: "remove-host", tenant: record.id, detail: "host \(name)")
            try await SiteCommandService.mirror(record, with: service)
            print("host \(name) removed")
        }
    }
}
