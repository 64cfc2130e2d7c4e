import Foundation
import GRDB
import SkiffCore

/// Objects' links in the index (docs/FORMAT.md §7.1, P4): children packed 32 bytes each, session
/// keys interned in `session_keys`.
extension PackIndex {
    /// Addresses one after the other, 32 bytes each: how `children` holds them.
    static func packed(_ addresses: [ObjectAddress]) -> Data {
        var data = Data(capacity: 32 * addresses.count)
        for address in addresses { address.digest.withUnsafeBytes { data.append(contentsOf: $0) } }
        return data
    }

    /// `packed` read back; the caller checks the length is a multiple of 32.
    static func unpacked(_ data: Data) -> [ObjectAddress] {
        data.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 32).map { ObjectAddress(Digest256(UnsafeRawBufferPointer(rebasing: raw[$0..<$0 + 32]))) }
        }
    }

    /// The id of a session key object in `session_keys`, added when new.
    func sessionKeyID(_ address: ObjectAddress, in db: Database) throws -> Int64 {
        if let id = sessionKeyIDs.withLock({ $0[address] }) { return id }
        try db.execute(sql: "INSERT OR IGNORE INTO session_keys (address) VALUES (?)", arguments: [address.blob])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM session_keys WHERE address = ?", arguments: [address.blob])!
        sessionKeyIDs.withLock { $0[address] = id }
        return id
    }

    /// The links of each object (not in the trash) as its row holds them, in the order of
    /// `addresses`: `.absent` without a row, `.unknown` for a row without links (or links that
    /// no longer parse: the caller reads the header, which decides).
    package func links(of addresses: [ObjectAddress]) throws -> [KnownLinks] {
        try database.unsafeRead { db in
            let statement = try db.cachedStatement(sql: """
                SELECT o.kind, k.address, o.children FROM objects o LEFT JOIN session_keys k ON k.id = o.key
                WHERE o.address = ? AND o.trashed = 0
                """)
            return try addresses.map { address in
                guard let row = try Row.fetchOne(statement, arguments: [address.blob]) else { return .absent }
                guard let kindValue = row[0] as Int?, let kind = ObjectKind(rawValue: UInt8(truncatingIfNeeded: kindValue)) else { return .unknown }
                let key = (row[1] as Data?).map(ObjectAddress.init(blob:))
                let packed = (row[2] as Data?) ?? Data()
                guard packed.count % 32 == 0, key != nil || !kind.isSessionEncrypted else { return .unknown }
                return .known(ObjectLinks(kind: kind, children: Self.unpacked(packed), sessionKey: key))
            }
        }
    }
}
