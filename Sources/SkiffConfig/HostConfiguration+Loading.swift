import Foundation
import SkiffCore
import Yams

extension HostConfiguration {
    /// Reads and checks a configuration file.
    /// - Throws: `ConfigurationError` naming the file, line and key of the first problem.
    package static func load(path: String) throws -> HostConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: 0, key: "", message: "cannot read the configuration file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, line: 0, key: "", message: "the file is not UTF-8")
        }
        return try parse(text, file: path)
    }

    package static func parse(_ text: String, file: String) throws -> HostConfiguration {
        let base = (file as NSString).deletingLastPathComponent
        let document = try ConfigurationDocument(text: text, file: file)
        let root = try document.mapping(document.root, key: "")
        var configuration = HostConfiguration(
            file: file, hostKey: "", stateDirectory: "", quorum: 1, quorumTimeout: .seconds(60), sites: [])
        configuration.hostKey = Self.resolve(try document.string(root, "host_key", required: false) ?? HostDefaults.hostKey, base: base)
        configuration.stateDirectory = Self.resolve(try document.string(root, "state_dir", required: false) ?? HostDefaults.stateDirectory, base: base)
        if let sites = try document.sequence(root, "sites") {
            var names = Set<String>()
            for (index, item) in sites.enumerated() {
                let key = "sites[\(index)]"
                let site = try document.mapping(item, key: key)
                let name = try document.string(site, "name", prefix: key, required: true)!
                guard (try? HostName.validate(name)) != nil else {
                    throw document.error(site["name"], key: "\(key).name", "use letters, digits, '.', '_' or '-'")
                }
                guard names.insert(name).inserted else { throw document.error(site["name"], key: "\(key).name", "another site has this name") }
                let url = try document.string(site, "url", prefix: key, required: true)!
                guard url.hasPrefix("https://"), URLComponents(string: url)?.host != nil else {
                    throw document.error(site["url"], key: "\(key).url", "must be https://HOST[:PORT]")
                }
                let tokenFile = Self.resolve(try document.string(site, "token_file", prefix: key, required: true)!, base: base)
                let fingerprint = try document.string(site, "fingerprint", prefix: key, required: false)
                let caFile = try document.string(site, "ca_file", prefix: key, required: false)
                let trust: SiteSettings.Trust
                switch (fingerprint, caFile) {
                case (.some, .some):
                    throw document.error(site["ca_file"], key: "\(key).ca_file", "give fingerprint or ca_file, not both")
                case (.some(let pin), nil):
                    let hex = pin.lowercased().replacingOccurrences(of: "sha256:", with: "").replacingOccurrences(of: ":", with: "")
                    guard hex.count == 64, Hex.decode(hex) != nil else {
                        throw document.error(site["fingerprint"], key: "\(key).fingerprint", "expected sha256: and 64 hex digits (skiff-site fingerprint prints it)")
                    }
                    trust = .pinned(fingerprint: hex)
                case (nil, .some(let file)):
                    trust = .certificateAuthority(file: Self.resolve(file, base: base))
                case (nil, nil):
                    trust = .system
                }
                try document.rejectUnknown(site, allowed: ["name", "url", "token_file", "fingerprint", "ca_file"], prefix: key)
                configuration.sites.append(SiteSettings(name: name, url: url, tokenFile: tokenFile, trust: trust))
            }
        }
        let quorum = try document.integer(root, "quorum") ?? configuration.sites.count
        guard (1...max(1, configuration.sites.count)).contains(quorum) else {
            throw document.error(root["quorum"], key: "quorum", "must be between 1 and the number of sites (\(configuration.sites.count))")
        }
        configuration.quorum = quorum
        if let timeout = try document.integer(root, "quorum_timeout") {
            guard timeout >= 0 else { throw document.error(root["quorum_timeout"], key: "quorum_timeout", "must be 0 or more seconds") }
            configuration.quorumTimeout = .seconds(timeout)
        }
        if root["agent"] != nil {
            configuration.agent = try parseAgent(try document.mapping(root["agent"]!, key: "agent"), document: document)
        }
        try document.rejectUnknown(root, allowed: ["host_key", "state_dir", "quorum", "quorum_timeout", "sites", "agent"], prefix: "")
        return configuration
    }

    static func parseAgent(_ agent: Node.Mapping, document: ConfigurationDocument) throws -> AgentSettings {
        var settings = AgentSettings()
        let key = "agent"
        guard let paths = try document.sequence(agent, "paths", prefix: key), !paths.isEmpty else {
            throw document.error(agent["paths"], key: "agent.paths", "list at least one path to protect")
        }
        for (index, node) in paths.enumerated() {
            guard let path = node.string, path.hasPrefix("/") else {
                throw document.error(node, key: "agent.paths[\(index)]", "must be an absolute path")
            }
            settings.paths.append(path)
        }
        for (index, node) in (try document.sequence(agent, "exclude", prefix: key) ?? []).enumerated() {
            guard let pattern = node.string, !pattern.isEmpty else { throw document.error(node, key: "agent.exclude[\(index)]", "must be a glob pattern") }
            settings.excludes.append(pattern)
        }
        settings.excludeCaches = try document.boolean(agent, "exclude_caches", prefix: key) ?? false
        settings.oneFileSystem = try document.boolean(agent, "one_file_system", prefix: key) ?? false
        func milliseconds(_ name: String, _ range: ClosedRange<Int>, default value: Duration) throws -> Duration {
            guard let number = try document.integer(agent, name, prefix: key) else { return value }
            guard range.contains(number) else { throw document.error(agent[name], key: "agent.\(name)", "must be between \(range.lowerBound) and \(range.upperBound)") }
            return .milliseconds(number)
        }
        for replaced in ["debounce_ms", "max_delay_ms"] where agent[replaced] != nil {
            throw document.error(agent[replaced], key: "agent.\(replaced)", """
                was replaced by settle_ms and min_interval_ms: a snapshot now starts on the first change \
                (see skiff.yaml.example)
                """)
        }
        settings.settle = try milliseconds("settle_ms", 0...10_000, default: settings.settle)
        settings.minInterval = try milliseconds("min_interval_ms", 10...3_600_000, default: settings.minInterval)
        if let seconds = try document.integer(agent, "rescan_interval", prefix: key) {
            guard seconds >= 0 else { throw document.error(agent["rescan_interval"], key: "agent.rescan_interval", "must be 0 (never) or more seconds") }
            settings.rescanInterval = .seconds(seconds)
        }
        if let nice = try document.integer(agent, "nice", prefix: key) {
            guard (0...19).contains(nice) else { throw document.error(agent["nice"], key: "agent.nice", "must be between 0 and 19") }
            settings.nice = nice
        }
        if let listen = try document.string(agent, "metrics_listen", prefix: key, required: false) {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port), colon > listen.startIndex else {
                throw document.error(agent["metrics_listen"], key: "agent.metrics_listen", "expected HOST:PORT, e.g. 127.0.0.1:9464")
            }
            settings.metricsAddress = AgentSettings.MetricsAddress(host: String(listen[..<colon]), port: port)
        }
        if let ioClass = try document.string(agent, "io_class", prefix: key, required: false) {
            guard ["best-effort", "idle"].contains(ioClass) else {
                throw document.error(agent["io_class"], key: "agent.io_class", "must be best-effort or idle")
            }
            settings.ioClass = ioClass
        }
        settings.preSnapshot = try document.string(agent, "pre_snapshot", prefix: key, required: false)
        settings.postSnapshot = try document.string(agent, "post_snapshot", prefix: key, required: false)
        try document.rejectUnknown(agent, allowed: ["paths", "exclude", "exclude_caches", "one_file_system", "settle_ms", "min_interval_ms", "rescan_interval",
                                                    "nice", "io_class", "metrics_listen", "pre_snapshot", "post_snapshot"], prefix: key)
        return settings
    }

    static func resolve(_ path: String, base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return path }
        if path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst(1) }
        return (base as NSString).appendingPathComponent(path)
    }
}
