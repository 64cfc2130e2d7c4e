import Foundation
import SkiffConfig
import Testing

/// The host configuration: the shipped example parses, and every mistake names file, line and key.
@Suite struct ConfigurationTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Systemd/skiff.yaml.example")

    @Test func theExampleParses() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let configuration = try HostConfiguration.parse(text, file: "/etc/skiff/skiff.yaml")
        #expect(configuration.sites.map(\.name) == ["cloud-a", "cloud-b", "dr-centre"] && configuration.quorum == 2)
        #expect(configuration.sites[0].tokenFile == "/etc/skiff/tokens/cloud-a")
        let agent = try #require(configuration.agent)
        #expect(agent.paths == ["/etc", "/srv", "/var/lib/app"] && agent.excludeCaches && agent.oneFileSystem)
        #expect(agent.settle == .milliseconds(50) && agent.minInterval == .milliseconds(500) && agent.rescanInterval == .seconds(3600))
        #expect(agent.settle == AgentSettings().settle && agent.minInterval == AgentSettings().minInterval, "the example ships the defaults")
        #expect(agent.ioClass == "idle" && agent.metricsAddress == AgentSettings.MetricsAddress(host: "127.0.0.1", port: 9464))
        #expect(agent.preSnapshot == "/usr/local/sbin/app-flush" && agent.postSnapshot?.contains("SKIFF_SEAL") == true)
    }

    @Test(arguments: [
        ("quorum: 9\n", "quorum"),
        ("agent:\n  paths: [relative/path]\n", "agent.paths[0]"),
        ("agent:\n  paths: [/srv]\n  settle_ms: 20000\n", "agent.settle_ms"),
        ("agent:\n  paths: [/srv]\n  min_interval_ms: 5\n", "agent.min_interval_ms"),
        ("agent:\n  paths: [/srv]\n  debounce_ms: 1000\n", "agent.debounce_ms"),
        ("agent:\n  paths: [/srv]\n  max_delay_ms: 5000\n", "agent.max_delay_ms"),
        ("agent:\n  paths: [/srv]\n  io_class: realtime\n", "agent.io_class"),
        ("agent:\n  paths: [/srv]\n  metrics_listen: nine\n", "agent.metrics_listen"),
        ("agent:\n  paths: [/srv]\n  debounce: 5\n", "agent.debounce"),
        ("sitez: []\n", "sitez"),
    ])
    func mistakesNameTheirKeyAndLine(_ tail: String, _ key: String) throws {
        let head = "sites:\n  - name: a\n    url: https://a.example:8443\n    token_file: a.token\n"
        do {
            _ = try HostConfiguration.parse(head + tail, file: "/etc/skiff/skiff.yaml")
            Issue.record("accepted: \(tail)")
        } catch let error as ConfigurationError {
            #expect(error.key == key, "\(error)")
            #expect(error.file == "/etc/skiff/skiff.yaml" && error.line >= 5, "\(error)")
        }
    }
}
