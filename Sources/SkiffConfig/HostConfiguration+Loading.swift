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
        var document = try ConfigurationDocument(text: text, file: file)
        let root = try document.mapping(document.root, key: "")
        var configuration = HostConfiguration(
            file: file, hostKey: "", stateDirectory: "", quorum: 1, quorumTimeout: .seconds(60), sites: [])
        configuration.hostKey = Self.resolve(try document.string(root, "host_key", required: false) ?? KeyPaths.defaultHostKey, base: base)
        configuration.stateDirectory = Self.resolve(try document.string(root, "state_dir", required: false) ?? KeyPaths.defaultStateDirectory, base: base)
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
        try document.rejectUnknown(root, allowed: ["host_key", "state_dir", "quorum", "quorum_timeout", "sites"], prefix: "")
        return configuration
    }

    static func resolve(_ path: String, base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return path }
        if path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst(1) }
        return (base as NSString).appendingPathComponent(path)
    }
}

/// Default places of the host's files.
package enum KeyPaths {
    package static var defaultHostKey: String {
        geteuid() == 0 ? "/etc/skiff/host.key" : NSHomeDirectory() + "/.config/skiff/host.key"
    }

    package static var defaultStateDirectory: String {
        geteuid() == 0 ? "/var/lib/skiff" : NSHomeDirectory() + "/.local/state/skiff"
    }
}
