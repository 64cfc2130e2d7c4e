import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// An entry of the site's audit trail: who did or tried what, when, from where.
package struct AuditEntry: Sendable, Codable, Equatable {
    package var time: Date
    /// A token id, `console:<user>`, `cli`, `schedule`, `scrubber`, `site`, or `anonymous`.
    package var actor: String
    package var action: String
    /// The tenant acted on or asked for (as asked: a refused request may name no real tenant).
    package var tenant: String?
    package var detail: String
    /// The token's role, for requests.
    package var role: String?
    /// The client's IP address, for requests.
    package var client: String?
    /// The object address or seal (`host/file`) the request named.
    package var subject: String?
    /// A refusal's code (docs/PROTOCOL.md).
    package var code: String?
}

/// A refused attempt to change what the site holds, as `SiteRefusalTrail` records it.
struct RefusalRecord: Sendable {
    var operation: SiteOperation
    var tokenID: String?
    var role: SiteRole?
    var client: String?
    var tenantAsked: String
    var subject: String?
    var status: Int
    var code: SiteErrorCode
    var message: String
}

extension SiteRegistry {
    package func audit(actor: String, action: String, tenant: TenantID?, detail: String, client: String? = nil, code: String? = nil) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO audit (time, actor, action, tenant, detail, client, code) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [Date().timeIntervalSince1970, actor, action, tenant?.hex, detail, client, code])
        }
    }

    /// Writes a refused request. What the client chose (tenant, subject) is cut to a sane
    /// length: it is attacker-controlled text.
    func recordRefusal(_ refusal: RefusalRecord) throws {
        func clipped(_ text: String?) -> String? { text.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(160)) } }
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO audit (time, actor, action, tenant, detail, role, client, subject, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Date().timeIntervalSince1970, refusal.tokenID ?? "anonymous", "refused-\(refusal.operation.trailName)",
                                 clipped(refusal.tenantAsked), "\(refusal.status) \(refusal.code.rawValue): \(clipped(refusal.message) ?? "")",
                                 refusal.role?.rawValue, refusal.client, clipped(refusal.subject), refusal.code.rawValue])
        }
    }

    /// The newest `limit` entries, newest first; only those of `tenant` when given.
    package func auditTrail(limit: Int, tenant: TenantID? = nil) throws -> [AuditEntry] {
        try database.read { db in
            let filter = tenant == nil ? "" : "WHERE tenant = ?"
            let arguments: StatementArguments = tenant.map { [$0.hex, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM audit \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments).map { row in
                AuditEntry(time: Date(timeIntervalSince1970: row["time"]), actor: row["actor"], action: row["action"],
                           tenant: row["tenant"], detail: row["detail"], role: row["role"], client: row["client"], subject: row["subject"],
                           code: row["code"])
            }
        }
    }
}
