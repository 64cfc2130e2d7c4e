import Foundation
import Synchronization

/// Limits failed authentication per client address (docs/PROTOCOL.md, "Limits"): each
/// address may fail `burst` times, and earns one more try every `refill`. An address out of
/// tries is throttled: its requests are answered `429 too-many-failures` with `Retry-After`,
/// unread and without a token lookup, except those that present a token which authenticated
/// from the same address within the last hour (so a good client behind the same address, a
/// NAT, keeps working). IPv6 clients are counted by their /64, which one client controls.
///
/// Memory is bounded: at most `maxAddresses` addresses are tracked; beyond that, addresses
/// with all their tries are forgotten first.
package final class AuthenticationLimiter: Sendable {
    package let burst: Double
    package let refill: Duration
    static let maxAddresses = 65_536
    static let goodTokenLifetime: Duration = .seconds(3600)
    static let goodTokensPerAddress = 32

    private struct Bucket {
        var tries: Double
        var updated: ContinuousClock.Instant
        var throttled = false
        var goodTokens: [[UInt8]: ContinuousClock.Instant] = [:]
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    package init(burst: Int = 20, refill: Duration = .seconds(3)) {
        self.burst = Double(burst)
        self.refill = refill
    }

    /// What the limiter says of a request before its token is checked.
    package enum Verdict: Equatable, Sendable {
        case proceed
        /// Refuse it unread; try again after this many seconds.
        case throttled(retryAfter: Int)
    }

    /// Whether a request from `client` presenting `tokenHash` (nil: no token) may be checked.
    package func admit(client: String?, tokenHash: [UInt8]?, now: ContinuousClock.Instant = .now) -> Verdict {
        guard let key = client.map(Self.key) else { return .proceed }
        return buckets.withLock { buckets in
            guard var bucket = buckets[key] else { return .proceed }
            refilled(&bucket, now: now)
            defer { buckets[key] = bucket }
            guard bucket.tries < 1 else { return .proceed }
            if let tokenHash, let seen = bucket.goodTokens[tokenHash], now - seen < Self.goodTokenLifetime { return .proceed }
            return .throttled(retryAfter: retryAfter(bucket))
        }
    }

    /// Records a failed authentication. Returns true when this failure used the address's last
    /// try (it is throttled from now on: worth one entry in the audit trail).
    package func failed(client: String?, now: ContinuousClock.Instant = .now) -> Bool {
        guard let key = client.map(Self.key) else { return false }
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tries: burst, updated: now)
            refilled(&bucket, now: now)
            bucket.tries = max(0, bucket.tries - 1)
            let nowThrottled = bucket.tries < 1 && !bucket.throttled
            if bucket.tries < 1 { bucket.throttled = true }
            buckets[key] = bucket
            if buckets.count > Self.maxAddresses { prune(&buckets, now: now) }
            return nowThrottled
        }
    }

    /// Records a token that authenticated from `client`.
    package func succeeded(client: String?, tokenHash: [UInt8], now: ContinuousClock.Instant = .now) {
        guard let key = client.map(Self.key) else { return }
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tries: burst, updated: now)
            refilled(&bucket, now: now)
            if bucket.goodTokens.count >= Self.goodTokensPerAddress, bucket.goodTokens[tokenHash] == nil {
                bucket.goodTokens = bucket.goodTokens.filter { now - $0.value < Self.goodTokenLifetime }
                if bucket.goodTokens.count >= Self.goodTokensPerAddress { return }
            }
            bucket.goodTokens[tokenHash] = now
            buckets[key] = bucket
            if buckets.count > Self.maxAddresses { prune(&buckets, now: now) }
        }
    }

    /// Addresses throttled now.
    package func throttledCount(now: ContinuousClock.Instant = .now) -> Int {
        buckets.withLock { buckets in
            buckets.values.filter { bucket in
                var bucket = bucket
                refilled(&bucket, now: now)
                return bucket.tries < 1
            }.count
        }
    }

    private func refilled(_ bucket: inout Bucket, now: ContinuousClock.Instant) {
        let earned = (now - bucket.updated) / refill
        bucket.tries = min(burst, bucket.tries + earned)
        bucket.updated = now
        if bucket.tries >= burst { bucket.throttled = false }
    }

    private func retryAfter(_ bucket: Bucket) -> Int {
        let seconds = Double(refill.components.seconds) + Double(refill.components.attoseconds) / 1e18
        return max(1, Int(((1 - bucket.tries) * seconds).rounded(.up)))
    }

    /// Forgets addresses that have all their tries and no remembered good token, then, if still
    /// too many, the half that were updated longest ago.
    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            var bucket = bucket
            refilled(&bucket, now: now)
            return bucket.tries < burst || !bucket.goodTokens.isEmpty
        }
        guard buckets.count > Self.maxAddresses else { return }
        let keep = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(Self.maxAddresses / 2)
        buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }

    /// The address an IPv4 client is counted by (itself), or an IPv6 client's /64.
    static func key(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var groups = address.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if let gap = groups.firstIndex(of: ""), address.contains("::") {
            let present = groups.filter { !$0.isEmpty }
            let missing = 8 - present.count
            groups = Array(groups[..<gap].filter { !$0.isEmpty }) + Array(repeating: "0", count: max(0, missing))
                + Array(groups[gap...].filter { !$0.isEmpty })
        }
        return groups.prefix(4).joined(separator: ":") + "::/64"
    }
}
