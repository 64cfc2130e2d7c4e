import Foundation
import GRDB
import SkiffCore
import SkiffSiteProtocol

/// Hosts whose seals the site accepts, each registered with its tenant-signed certificate.
extension SiteRegistry {
    /// Registers a host of `tenant` from its certificate, which must be signed by the tenant.
    /// Re-registering a name replaces its key (a host that was re-keyed).
    package func registerHost(tenant: TenantRecord, certificate: HostCertificate) throws -> HostRecord {
        do { try certificate.verify(by: tenant.publicKey) } catch {
            throw RegistryError.hostNotCertified("the certificate of \(certificate.hostName) is not signed by tenant \(tenant.name)")
        }
        var writer = ByteWriter()
        certificate.write(into: &writer)
        let record = HostRecord(tenant: tenant.id, name: certificate.hostName, certificate: certificate, registered: Date())
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO hosts (tenant, name, certificate, registered) VALUES (?, ?, ?, ?)",
                           arguments: [tenant.id.hex, record.name, Data(writer.bytes), record.registered.timeIntervalSince1970])
        }
        return record
    }

    package func host(tenant: TenantID, name: String) throws -> HostRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM hosts WHERE tenant = ? AND name = ?", arguments: [tenant.hex, name]).map(Self.host)
        }
    }

    package func hosts(tenant: TenantID) throws -> [HostRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hosts WHERE tenant = ? ORDER BY name", arguments: [tenant.hex]).map(Self.host)
        }
    }

    package func removeHost(tenant: TenantID, name: String) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM hosts WHERE tenant = ? AND name = ?", arguments: [tenant.hex, name])
            guard db.changesCount == 1 else { throw RegistryError.invalid("no host \(name) in that tenant") }
        }
    }

    static func host(_ row: Row) throws -> HostRecord {
        let data: Data = row["certificate"]
        var reader = ByteReader(Array(data), context: "host certificate")
        return HostRecord(tenant: TenantID(hex: row["tenant"] as String)!, name: row["name"],
                          certificate: try HostCertificate.read(from: &reader), registered: Date(timeIntervalSince1970: row["registered"]))
    }
}
