import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// The scrubber's records: quarantined objects and each tenant's scrub pass.
extension SiteRegistry {
    package func quarantine(_ address: ObjectAddress, tenant: TenantID, reason: String) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO quarantine (tenant, address, found, reason) VALUES (?, ?, ?, ?)",
                           arguments: [tenant.hex, Data(address.digest.bytes), Date().timeIntervalSince1970, reason])
        }
    }

    /// Removes the record once a good copy is back (healing).
    package func releaseFromQuarantine(_ address: ObjectAddress, tenant: TenantID) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM quarantine WHERE tenant = ? AND address = ?", arguments: [tenant.hex, Data(address.digest.bytes)])
        }
    }

    package func quarantined(tenant: TenantID, limit: Int) throws -> [QuarantinedObject] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT address, found, reason FROM quarantine WHERE tenant = ? ORDER BY found LIMIT ?",
                             arguments: [tenant.hex, limit]).map { row in
                let address: Data = row["address"]
                return QuarantinedObject(address: Hex.encode(address), found: Date(timeIntervalSince1970: row["found"]), reason: row["reason"])
            }
        }
    }

    /// The tenant's current or last pass, if any.
    package func scrubPass(tenant: TenantID) throws -> ScrubPass? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM scrub_passes WHERE tenant = ?", arguments: [tenant.hex]) else { return nil }
            let resume: Data? = row["resume_after"]
            return ScrubPass(started: Date(timeIntervalSince1970: row["started"]), completed: (row["completed"] as Double?).map { Date(timeIntervalSince1970: $0) },
                             objects: row["objects"], bytes: row["bytes"], quarantined: row["quarantined"],
                             resumeAfter: resume.map { ObjectAddress(Digest256(bytes: $0)) })
        }
    }

    package func recordScrubPass(_ pass: ScrubPass, tenant: TenantID) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO scrub_passes (tenant, started, completed, objects, bytes, quarantined, resume_after)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [tenant.hex, pass.started.timeIntervalSince1970, pass.completed?.timeIntervalSince1970, pass.objects, pass.bytes,
                                 pass.quarantined, pass.resumeAfter.map { Data($0.digest.bytes) }])
        }
    }
}

/// One tenant's scrub pass: every stored object re-read once.
package struct ScrubPass: Sendable, Equatable {
    package var started: Date
    package var completed: Date?
    package var objects: Int
    package var bytes: Int
    package var quarantined: Int
    /// Where an interrupted pass goes on (the last address read).
    package var resumeAfter: ObjectAddress?
}
