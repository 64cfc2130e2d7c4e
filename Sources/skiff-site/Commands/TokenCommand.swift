import ArgumentParser
import Foundation
import SkiffCore
import SkiffSite

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke bearer tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once (only its SHA-256 is kept).",
            discussion: """
                Roles: writer (one --tenant and one --host), reader (one --tenant), auditor (one or more --tenant),
                admin (no --tenant: every tenant).
                """)

        @OptionGroup var data: DataOptions
        @Option(name: .long, help: "writer, reader, auditor or admin.")
        var role: String
        @Option(name: .long, help: "A tenant (name or id) the token is for. Repeatable for auditors.")
        var tenant: [String] = []
        @Option(name: .long, help: "For writers: the host whose seals it writes.")
        var host: String?
        @Option(name: .long, help: "A label for people (who holds it).")
        var label: String = ""
        @Option(name: .long, help: ArgumentHelp("Write the token to this file (mode 0600) instead of printing it.", valueName: "FILE"))
        var out: String?

        func run() throws {
            guard let role = SiteRole(rawValue: role) else { throw SiteCommandFailure.usage("role must be writer, reader, auditor or admin") }
            let registry = try data.registry()
            let tenants = try tenant.map { name -> TenantID in
                guard let record = try registry.tenant(named: name) else { throw SiteCommandFailure.usage("no tenant \(name)") }
                return record.id
            }
            let (record, secret) = try registry.createToken(role: role, tenants: tenants, host: host, label: label)
            try registry.audit(actor: "cli", action: "create-token", tenant: tenants.first,
                               detail: "\(record.id) role \(role.rawValue)\(host.map { " host \($0)" } ?? "") label \(label)")
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                    try registry.revokeToken(record.id)
                    throw SiteCommandFailure(code: 1, message: "cannot write \(out); token \(record.id) was revoked again")
                }
                print("token \(record.id) (\(role.rawValue)) written to \(out)")
            } else {
                print(secret)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: JSONFlag

        func run() throws {
            let tokens = try data.registry().tokens()
            if output.json { return try output.print(tokens) }
            for token in tokens {
                let state = token.revoked == nil ? "active" : "revoked"
                print("\(token.id)  \(token.role.rawValue)  \(state)  tenants \(token.tenants.joined(separator: ","))\(token.host.map { "  host \($0)" } ?? "")  \(token.label)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token (effective within seconds on a running server).")
        @OptionGroup var data: DataOptions
        @Argument(help: "The token id (tok-…).")
        var id: String

        func run() throws {
            let registry = try data.registry()
            try registry.revokeToken(id)
            try registry.audit(actor: "cli", action: "revoke-token", tenant: nil, detail: id)
            print("token \(id) revoked")
        }
    }
}
