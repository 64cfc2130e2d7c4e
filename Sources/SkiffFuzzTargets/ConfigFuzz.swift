import SkiffConfig

/// Input: the text of a host configuration file (`skiff.yaml`); like `HostConfiguration.load`,
/// only UTF-8 is parsed. What parses must hold what its users rely on.
enum ConfigFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .rejected }
        let configuration: HostConfiguration
        do { configuration = try HostConfiguration.parse(text, file: "/etc/skiff/skiff.yaml") } catch { return .rejected }
        precondition((1...max(1, configuration.sites.count)).contains(configuration.quorum))
        precondition(Set(configuration.sites.map(\.name)).count == configuration.sites.count)
        precondition(configuration.sites.allSatisfy { $0.url.hasPrefix("https://") })
        if let agent = configuration.agent {
            precondition(!agent.paths.isEmpty && agent.settle >= .zero && agent.minInterval > .zero)
        }
        return .accepted
    }
}
