import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// Bearer tokens: created with their secret shown once, stored as SHA-256, authenticated
/// through a short-lived cache, revoked.
extension SiteRegistry {
    /// Creates a token and returns its record and its secret, which is shown once and never
    /// stored (only its SHA-256 is).
    package func createToken(role: SiteRole, tenants: [TenantID], host: String?, label: String) throws -> (TokenRecord, String) {
        switch role {
        case .writer:
            guard tenants.count == 1, let host else { throw RegistryError.invalid("a writer token is for exactly one tenant and one host") }
            try HostName.validate(host)
        case .reader:
            guard tenants.count == 1 else { throw RegistryError.invalid("a reader token is for exactly one tenant") }
        case .auditor:
            guard !tenants.isEmpty else { throw RegistryError.invalid("an auditor token needs at least one tenant") }
        case .admin:
            guard tenants.isEmpty else { throw RegistryError.invalid("an admin token covers every tenant; give no tenant") }
        }
        let secret = "skt_" + Self.base64URL(SecureRandom.bytes(32))
        let id = "tok-" + Hex.encode(SecureRandom.bytes(5))
        let record = TokenRecord(id: id, role: role, tenants: tenants.map(\.hex), host: role == .writer ? host : nil,
                                 label: label, created: Date(), revoked: nil)
        try database.write { db in
            for tenant in tenants {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tenants WHERE id = ?", arguments: [tenant.hex]) == true else {
                    throw RegistryError.unknownTenant(tenant.hex)
                }
            }
            // A writer writes for one registered host: register the host first (its seals
            // are refused otherwise, and its uploads would be garbage nobody can seal).
            if role == .writer, let host, let tenant = tenants.first,
               try Bool.fetchOne(db, sql: "SELECT 1 FROM hosts WHERE tenant = ? AND name = ?", arguments: [tenant.hex, host]) != true {
                throw RegistryError.hostNotCertified("no host \(host) is registered for this tenant; register it first (skiff-site host add)")
            }
            try db.execute(sql: "INSERT INTO tokens (id, hash, role, host, label, created) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, Data(Self.tokenHash(secret)), role.rawValue, record.host, label, record.created.timeIntervalSince1970])
            for tenant in tenants {
                try db.execute(sql: "INSERT INTO token_tenants (token, tenant) VALUES (?, ?)", arguments: [id, tenant.hex])
            }
        }
        return (record, secret)
    }

    static func tokenHash(_ secret: String) -> [UInt8] { SHA256Hasher.digest(Array(secret.utf8)).bytes }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The principal of a presented secret, or nil for unknown or revoked tokens.
    package func authenticate(_ secret: String) throws -> Principal? {
        guard secret.hasPrefix("skt_"), secret.utf8.count < 200 else { return nil }
        let hash = Hex.encode(Self.tokenHash(secret))
        let now = ContinuousClock.now
        if let (principal, cachedAt) = tokenCache.withLock({ $0[hash] }), now - cachedAt < Self.tokenCacheLifetime { return principal }
        let principal: Principal? = try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE hash = ? AND revoked IS NULL",
                                             arguments: [Data(Self.tokenHash(secret))]) else { return nil }
            let id: String = row["id"]
            let tenants = try String.fetchAll(db, sql: "SELECT tenant FROM token_tenants WHERE token = ?", arguments: [id])
            return Principal(tokenID: id, role: SiteRole(rawValue: row["role"]) ?? .reader,
                             tenants: Set(tenants.compactMap { TenantID(hex: $0) }), host: row["host"])
        }
        tokenCache.withLock { cache in
            if let principal { cache[hash] = (principal, now) } else { cache[hash] = nil }
        }
        return principal
    }

    package func revokeToken(_ id: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", arguments: [Date().timeIntervalSince1970, id])
            guard db.changesCount == 1 else { throw RegistryError.unknownToken(id) }
        }
        tokenCache.withLock { $0.removeAll() }
    }

    package func tokens() throws -> [TokenRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created").map { row in
                let id: String = row["id"]
                let revoked: Double? = row["revoked"]
                return TokenRecord(
                    id: id, role: SiteRole(rawValue: row["role"]) ?? .reader,
                    tenants: try String.fetchAll(db, sql: "SELECT tenant FROM token_tenants WHERE token = ? ORDER BY tenant", arguments: [id]),
                    host: row["host"], label: row["label"], created: Date(timeIntervalSince1970: row["created"]),
                    revoked: revoked.map { Date(timeIntervalSince1970: $0) })
            }
        }
    }
}
