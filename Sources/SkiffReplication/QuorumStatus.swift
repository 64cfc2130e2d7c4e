/// What `skiff status` shows for the quorum: the recovery point a department signs for.
package struct QuorumStatus: Sendable, Codable, Equatable {
    /// Sites that must hold a seal before it counts as safe.
    package var quorum: Int
    /// Age in seconds of the oldest sealed change that fewer than `quorum` sites hold (0 when
    /// none). Changes the running agent has seen but not sealed yet (at most its settle time
    /// plus one snapshot) are not in it: its `skiff_agent_rpo_current_seconds` gauge counts them.
    package var rpoSeconds: Double
    /// Recovery points at the quorum over the last 24 hours.
    package var rpoLastDay: RecoveryPointSummary
}

/// `skiff status --json`: every site, then the quorum.
package struct ReplicationStatus: Sendable, Codable, Equatable {
    package var sites: [SiteStatus]
    package var quorum: QuorumStatus

    package init(sites: [SiteStatus], quorum: QuorumStatus) {
        self.sites = sites
        self.quorum = quorum
    }
}
