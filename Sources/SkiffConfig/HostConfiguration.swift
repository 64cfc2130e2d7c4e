import Foundation
import SkiffCore

/// How a host reaches one site.
package struct SiteSettings: Sendable, Equatable {
    package enum Trust: Sendable, Equatable {
        case certificateAuthority(file: String)
        case pinned(fingerprint: String)
        case system
    }

    package var name: String
    package var url: String
    package var tokenFile: String
    package var trust: Trust
}

/// The host's configuration file (`/etc/skiff/skiff.yaml`, YAML): its key, its state folder,
/// and the sites it replicates to. Relative paths are relative to the file's folder.
///
///     host_key: /etc/skiff/host.key
///     state_dir: /var/lib/skiff
///     quorum: 2                 # sites that must accept a seal before it counts as durable
///     quorum_timeout: 60        # seconds a backup waits for the quorum
///     sites:
///       - name: cloud-a
///         url: https://site-a.example:8443
///         token_file: tokens/cloud-a
///         fingerprint: sha256:6cc48b8f…   # or ca_file: /etc/skiff/ca.pem, or neither (system CAs)
package struct HostConfiguration: Sendable, Equatable {
    package var file: String
    package var hostKey: String
    package var stateDirectory: String
    package var quorum: Int
    package var quorumTimeout: Duration
    package var sites: [SiteSettings]
    /// Nil when the file has no `agent:` section.
    package var agent: AgentSettings?

    /// The paths below `stateDirectory`.
    package var stateLayout: HostStateLayout { HostStateLayout(stateFolder: stateDirectory) }

    /// `/etc/skiff/skiff.yaml` for root, `~/.config/skiff/skiff.yaml` otherwise.
    package static var defaultPath: String {
        geteuid() == 0 ? "/etc/skiff/skiff.yaml" : NSHomeDirectory() + "/.config/skiff/skiff.yaml"
    }
}
