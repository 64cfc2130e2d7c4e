import Foundation
import GRDB
import SkiffCore
import SkiffStorage
import SkiffSystem

/// Reading queued objects back: from memory when recent, else from the spool.
extension Outbox {
    /// The bytes of a queued object.
    /// - Throws: `ObjectError.missing` when the outbox does not hold it (any more).
    package func objectBytes(_ address: ObjectAddress) async throws -> [UInt8] {
        let (recent, pending) = state.withLock { ($0.recent[address], $0.locations[address]) }
        if let recent { return recent }
        if let location = try pending ?? committedLocation(address) {
            return try await BlockingWork.run { [spool] in try spool.read(address, at: location) }
        }
        guard let legacySpool else { throw ObjectError.missing(address) }
        do { return try await legacySpool.get(.object(address)) } catch StoreError.notFound { throw ObjectError.missing(address) }
    }

    /// Whether the outbox still holds the object's bytes (entries every site had are removed
    /// after `keepDelivered`, with their bytes).
    package func hasObject(_ address: ObjectAddress) async throws -> Bool {
        if state.withLock({ $0.locations[address] != nil }) { return true }
        do { _ = try committedLocation(address) } catch ObjectError.missing { return false }
        return true
    }

    /// Where a committed object lies (nil for one in the legacy spool).
    /// - Throws: `ObjectError.missing` when no entry holds it.
    private func committedLocation(_ address: ObjectAddress) throws -> SpoolLocation? {
        let row = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT size, segment, offset FROM entries WHERE kind = 1 AND address = ? LIMIT 1",
                             arguments: [Data(address.digest.bytes)])
        }
        guard let row else { throw ObjectError.missing(address) }
        let segment: Int64? = row["segment"]
        let offset: Int64? = row["offset"]
        guard let segment, let offset else { return nil }
        return SpoolLocation(segment: UInt32(truncatingIfNeeded: segment), offset: offset, length: row["size"])
    }
}
