/// The `agent:` section of the host configuration: what `skiff agent` protects and how
/// eagerly.
///
///     agent:
///       paths: [/etc, /srv]
///       exclude: ["*.tmp", "/srv/cache"]
///       exclude_caches: true
///       one_file_system: true
///       settle_ms: 50            # a snapshot starts this long after the first change of a quiet tree
///       min_interval_ms: 500     # and no sooner than this after the previous one started
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
    /// How long the first change of a set waits for the other events of the same write (a
    /// save is often several: write, close, rename) before its snapshot starts.
    package var settle: Duration = .milliseconds(50)
    /// The least time between the starts of two snapshots: the bound on snapshots per second
    /// under a steady stream of changes.
    package var minInterval: Duration = .milliseconds(500)
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
