/// One recovery-point measurement: a seal that answers changes became durable at one site.
///
/// What is measured: from `changedAt`, the moment the agent learnt of the oldest change the
/// seal answers (it read the inotify event; see docs/ARCHITECTURE.md, "Recovery point"), to
/// `durableAt`, the moment the site's answer that it durably holds the seal reached the host.
/// Both are the host's wall clock (Unix seconds).
package struct DurabilitySample: Sendable, Equatable {
    package var site: String
    package var sealSequence: UInt64
    package var changedAt: Double
    package var durableAt: Double
    /// How many sites held the seal once this one did (this one included): the sample that
    /// brings it to the quorum also measures the quorum's recovery point.
    package var sitesDurable: Int

    /// Seconds from the change to its durability at the site (never negative, even if the
    /// wall clock stepped back).
    package var seconds: Double { max(0, durableAt - changedAt) }
}
