import Foundation
import SkiffCore
import Synchronization

/// Counts what each tenant stores, and what it uploaded that no accepted seal reaches yet, and
/// holds uploads to the tenant's quota (docs/PROTOCOL.md, "Quotas").
///
/// The counts live in this process: the store is counted once at start (in the background;
/// until that finishes, uploads are held against what is counted so far plus what arrived
/// since), then kept by every upload, garbage collection and quarantine. Unsealed uploads are
/// tracked only for tenants with an unsealed quota, from the site's start. Site processes that
/// share a bucket each count their own uploads beside the count at their start, so with
/// several of them a quota is approximate (by what the others stored since).
///
/// Uploads reserve their bytes before they are stored and settle after, so concurrent uploads
/// can never pass a quota together.
package final class QuotaLedger: Sendable {
    private struct Account {
        var usage = TenantUsage()
        var quota = TenantQuota.unlimited
        var quotaRead: ContinuousClock.Instant?
        /// Bytes reserved by uploads in progress.
        var reserved = 0
        /// Unsealed uploads: bytes and Unix seconds of each, and the order they came in.
        var unsealed: [ObjectAddress: (bytes: Int, time: Int)] = [:]
        var unsealedOrder: [(address: ObjectAddress, time: Int)] = []
        var unsealedHead = 0
        var changed = true

        /// Drops unsealed uploads older than the quota's age from the count.
        mutating func expireUnsealed(now: Int) {
            let cutoff = now - quota.unsealedSeconds
            while unsealedHead < unsealedOrder.count, unsealedOrder[unsealedHead].time < cutoff {
                let (address, time) = unsealedOrder[unsealedHead]
                if let entry = unsealed[address], entry.time == time {
                    unsealed[address] = nil
                    usage.unsealedBytes -= entry.bytes
                    usage.unsealedObjects -= 1
                    changed = true
                }
                unsealedHead += 1
            }
            if unsealedHead > 4096, unsealedHead * 2 > unsealedOrder.count {
                unsealedOrder.removeFirst(unsealedHead)
                unsealedHead = 0
            }
        }
    }

    private let accounts = Mutex<[TenantID: Account]>([:])
    private let readQuota: @Sendable (TenantID) throws -> TenantQuota
    /// How long a quota read from the registry is used (the CLI changes it from another process).
    static let quotaLifetime = Duration.seconds(5)

    package init(readQuota: @escaping @Sendable (TenantID) throws -> TenantQuota) {
        self.readQuota = readQuota
    }

    /// The tenant's quota, re-read from the registry when the cached one is older than
    /// `quotaLifetime`.
    package func quota(_ tenant: TenantID) throws -> TenantQuota {
        let now = ContinuousClock.now
        if let quota = accounts.withLock({ account -> TenantQuota? in
            guard let read = account[tenant]?.quotaRead, now - read < Self.quotaLifetime else { return nil }
            return account[tenant]?.quota
        }) { return quota }
        let quota = try readQuota(tenant)
        accounts.withLock { accounts in
            accounts[tenant, default: Account()].quota = quota
            accounts[tenant]!.quotaRead = now
        }
        return quota
    }

    /// Reserves room for `bytes` about to be stored for `tenant` (name for messages).
    /// - Returns: the reservation, to hand to `settle` whatever the upload's outcome.
    /// - Throws: `SiteError.quotaExceeded` when storing them would pass a quota.
    package func reserve(_ bytes: Int, tenant: TenantID, name: String, now: Int = Int(Date().timeIntervalSince1970)) throws -> Int {
        let quota = try quota(tenant)
        return try accounts.withLock { accounts in
            var account = accounts[tenant, default: Account()]
            account.expireUnsealed(now: now)
            defer { accounts[tenant] = account }
            if let limit = quota.storedBytes, account.usage.storedBytes + account.reserved + bytes > limit {
                throw SiteError.quotaExceeded("""
                    tenant \(name) stores \(ByteCount.text(account.usage.storedBytes + account.reserved)) and its quota is \
                    \(ByteCount.text(limit)): \(ByteCount.text(bytes)) more do not fit (the site's administrator sets it: skiff-site tenant quota)
                    """)
            }
            if let limit = quota.unsealedBytes, account.usage.unsealedBytes + account.reserved + bytes > limit {
                throw SiteError.quotaExceeded("""
                    tenant \(name) has \(ByteCount.text(account.usage.unsealedBytes + account.reserved)) uploaded that no seal reaches yet, \
                    and may have \(ByteCount.text(limit)) within \(quota.unsealedSeconds) s: seal what was uploaded, or wait
                    """)
            }
            account.reserved += bytes
            return bytes
        }
    }

    /// Ends a reservation: `stored` are the objects the upload newly stored (the rest were
    /// already there, or the upload failed).
    package func settle(_ reservation: Int, stored: [(address: ObjectAddress, bytes: Int)], tenant: TenantID,
                        now: Int = Int(Date().timeIntervalSince1970)) {
        accounts.withLock { accounts in
            var account = accounts[tenant, default: Account()]
            account.reserved -= reservation
            for object in stored {
                account.usage.storedBytes += object.bytes
                account.usage.storedObjects += 1
                if account.quota.tracksUnsealed, account.unsealed[object.address] == nil {
                    account.unsealed[object.address] = (object.bytes, now)
                    account.unsealedOrder.append((object.address, now))
                    account.usage.unsealedBytes += object.bytes
                    account.usage.unsealedObjects += 1
                }
            }
            account.changed = account.changed || !stored.isEmpty
            accounts[tenant] = account
        }
    }

    /// Objects an accepted seal reaches no longer count as unsealed.
    package func sealed(_ addresses: some Sequence<ObjectAddress>, tenant: TenantID) {
        accounts.withLock { accounts in
            guard var account = accounts[tenant], !account.unsealed.isEmpty else { return }
            for address in addresses {
                guard let entry = account.unsealed.removeValue(forKey: address) else { continue }
                account.usage.unsealedBytes -= entry.bytes
                account.usage.unsealedObjects -= 1
                account.changed = true
            }
            accounts[tenant] = account
        }
    }

    /// Objects removed (garbage collection, quarantine).
    package func removed(objects: Int, bytes: Int, tenant: TenantID) {
        guard objects > 0 else { return }
        accounts.withLock { accounts in
            var account = accounts[tenant, default: Account()]
            account.usage.storedBytes = max(0, account.usage.storedBytes - bytes)
            account.usage.storedObjects = max(0, account.usage.storedObjects - objects)
            account.changed = true
            accounts[tenant] = account
        }
    }

    /// Adds the count of the store taken at start (see the type's comment).
    package func counted(objects: Int, bytes: Int, tenant: TenantID) {
        accounts.withLock { accounts in
            var account = accounts[tenant, default: Account()]
            account.usage.storedBytes += bytes
            account.usage.storedObjects += objects
            account.usage.counted = true
            account.changed = true
            accounts[tenant] = account
        }
    }

    /// The usage of every tenant whose figures changed since the last call (to record and
    /// export), with its quota.
    package func changes(now: Int = Int(Date().timeIntervalSince1970)) -> [(TenantID, TenantUsage, TenantQuota)] {
        accounts.withLock { accounts in
            var changed: [(TenantID, TenantUsage, TenantQuota)] = []
            for tenant in accounts.keys {
                accounts[tenant]!.expireUnsealed(now: now)
                guard accounts[tenant]!.changed else { continue }
                accounts[tenant]!.changed = false
                changed.append((tenant, accounts[tenant]!.usage, accounts[tenant]!.quota))
            }
            return changed
        }
    }

    /// The tenant's usage now.
    package func usage(_ tenant: TenantID) -> TenantUsage {
        accounts.withLock { $0[tenant]?.usage ?? TenantUsage() }
    }
}
