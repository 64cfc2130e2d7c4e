import ArgumentParser

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create, export, import and inspect keys.",
        discussion: """
            A tenant has one restore key (X25519 + Ed25519 + write secrets, wrapped with scrypt under a
            passphrase), kept offline by administrators. Each host has a host key: it can write
            snapshots but not decrypt them.
            """,
        subcommands: [
            KeyCreateTenantCommand.self, KeyCreateHostCommand.self, KeyExportCommand.self, KeyImportCommand.self,
            KeyInspectCommand.self, KeyPasswdCommand.self,
        ])
}
