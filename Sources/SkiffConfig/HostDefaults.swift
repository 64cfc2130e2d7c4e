import Foundation

/// Default places of the host's files, where neither the configuration nor an option names
/// them: system-wide for root, in the user's home otherwise. What is inside the state and cache
/// folders is `HostStateLayout`'s.
package enum HostDefaults {
    /// The host key: `/etc/skiff/host.key`, or `~/.config/skiff/host.key`.
    package static var hostKey: String {
        geteuid() == 0 ? "/etc/skiff/host.key" : NSHomeDirectory() + "/.config/skiff/host.key"
    }

    /// The state folder (`state_dir`): `/var/lib/skiff`, or `~/.local/state/skiff`.
    package static var stateDirectory: String {
        geteuid() == 0 ? "/var/lib/skiff" : NSHomeDirectory() + "/.local/state/skiff"
    }

    /// The cache folder of commands that use no state folder: `/var/cache/skiff`, or
    /// `~/.cache/skiff`.
    package static var cacheDirectory: String {
        geteuid() == 0 ? "/var/cache/skiff" : NSHomeDirectory() + "/.cache/skiff"
    }
}
