/// The `agent:` section of the host configuration: what `skiff agent` protects and how
/// eagerly.
///
///     agent:
///       paths: [/etc, /srv]
///       exclude: ["*.tmp", "/srv/cache"]
///       exclude_caches: true
///       one_file_system: true
///       debounce_ms: 1000        # quiet time that closes a change set
///       max_delay_ms: 5000       # a change set closes at the latest this long after its first change
///       rescan_interval: 3600    # seconds between safety rescans of everything (0: never)
///       nice: 10                 # CPU priority of the agent (0 to 19)
///       io_class: best-effort    # or idle: I/O priority, as ionice (best-effort at level 7)
///       metrics_listen: 127.0.0.1:9464   # Prometheus /metrics over plain HTTP (off when absent)
///       pre_snapshot: /usr/local/sbin/dump-db     # run by /bin/sh before each snapshot; failing skips it
///       post_snapshot: logger "sealed $SKIFF_SEAL" # run after each sealed snapshot
package struct AgentSettings: Sendable, Equatable {
    package var paths: [String] = []
    package var excludes: [String] = []
    package var excludeCaches = false
    package var oneFileSystem = false
    package var debounce: Duration = .milliseconds(1000)
    package var maxDelay: Duration = .milliseconds(5000)
    package var rescanInterval: Duration = .seconds(3600)
    package var nice = 10
    /// "best-effort" (level 7, the lowest) or "idle" (only when the disk is otherwise idle).
    package var ioClass = "best-effort"
    /// Where the Prometheus endpoint listens (nil: no endpoint).
    package var metricsAddress: MetricsAddress?
    package var preSnapshot: String?
    package var postSnapshot: String?

    package struct MetricsAddress: Sendable, Equatable {
        package var host: String
        package var port: Int

        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    package init() {}
}
