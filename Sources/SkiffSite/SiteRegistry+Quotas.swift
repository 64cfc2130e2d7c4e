import Foundation
import GRDB
import SkiffCore

/// Tenants' quotas, and the use the serving process last reported (for `skiff-site tenant
/// quota`, which runs in another process).
extension SiteRegistry {
    /// The tenant's quota: unlimited when none was set.
    package func quota(tenant: TenantID) throws -> TenantQuota {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM quotas WHERE tenant = ?", arguments: [tenant.hex]) else { return .unlimited }
            return TenantQuota(storedBytes: row["stored_bytes"], unsealedBytes: row["unsealed_bytes"], unsealedSeconds: row["unsealed_seconds"])
        }
    }

    package func setQuota(_ quota: TenantQuota, tenant: TenantID) throws {
        guard quota.storedBytes.map({ $0 >= 0 }) ?? true, quota.unsealedBytes.map({ $0 >= 0 }) ?? true, quota.unsealedSeconds > 0 else {
            throw RegistryError.invalid("quotas are zero or more bytes, and the unsealed age is positive")
        }
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO quotas (tenant, stored_bytes, unsealed_bytes, unsealed_seconds) VALUES (?, ?, ?, ?)",
                           arguments: [tenant.hex, quota.storedBytes, quota.unsealedBytes, quota.unsealedSeconds])
        }
    }

    /// Records what the serving process counts (written about once a second while it changes).
    package func recordUsage(_ usage: [(TenantID, TenantUsage)]) throws {
        guard !usage.isEmpty else { return }
        try database.write { db in
            for (tenant, use) in usage {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO tenant_usage (tenant, stored_bytes, stored_objects, unsealed_bytes, unsealed_objects, counted, updated)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [tenant.hex, use.storedBytes, use.storedObjects, use.unsealedBytes, use.unsealedObjects, use.counted,
                                     Date().timeIntervalSince1970])
            }
        }
    }

    /// What the serving process last reported for the tenant, if it ever did.
    package func reportedUsage(tenant: TenantID) throws -> TenantUsage? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tenant_usage WHERE tenant = ?", arguments: [tenant.hex]).map { row in
                var usage = TenantUsage()
                usage.storedBytes = row["stored_bytes"]
                usage.storedObjects = row["stored_objects"]
                usage.unsealedBytes = row["unsealed_bytes"]
                usage.unsealedObjects = row["unsealed_objects"]
                usage.counted = row["counted"]
                usage.updated = Date(timeIntervalSince1970: row["updated"])
                return usage
            }
        }
    }
}
