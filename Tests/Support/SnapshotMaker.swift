import Foundation
import SkiffCore

/// Small snapshots for keyless tests (sites, senders, audits), made in memory in microseconds:
/// real encrypted objects and signed seals whose clear headers link snapshot → tree → chunks,
/// and every object → the session key object, so that a DAG walk, a site's acceptance or an
/// audit sees a real Merkle DAG. The tree's body lists no entries: a restore of these snapshots
/// gives an empty directory (tests that restore files use `SnapshotWriter`).
package final class SnapshotMaker: Sendable {
    package let tenant: RestoreKey
    package let hostKey: HostKey
    let session: WriteSession

    /// One snapshot's objects.
    package struct Snapshot: Sendable {
        /// Every object, each after those it links to (the order a writer uploads them).
        package var objects: [EncodedObject]
        /// The snapshot object, which a seal names.
        package var root: ObjectAddress
        package var tree: ObjectAddress
        package var chunks: [ObjectAddress]
        /// The session key object every other object links to.
        package var keyObject: ObjectAddress
    }

    /// A maker for `host`, of a new tenant unless one is given (several hosts of one tenant
    /// share its `RestoreKey`).
    package init(host: String = "web1", tenant: RestoreKey? = nil) throws {
        let tenant = try tenant ?? TestKeys.tenant()
        self.tenant = tenant
        hostKey = try TestKeys.host(host, of: tenant)
        session = try WriteSession.start(config: tenant.publicKey.config, tenant: tenant.publicKey, writeSecrets: tenant.writeSecrets)
    }

    package var host: String { hostKey.hostName }

    /// A new snapshot: `chunks` chunks of `chunkSize` random bytes, one tree linking them, the
    /// snapshot object linking the tree.
    package func snapshot(chunks: Int = 3, chunkSize: Int = 300) throws -> Snapshot {
        let encoder = ObjectEncoder(session: session)
        let chunkObjects = try (0..<chunks).map { _ in
            try encoder.encode(kind: .chunk, children: [], body: SecureRandom.bytes(chunkSize), compression: .none)
        }
        var body = ByteWriter()
        body.u8(1); body.u8(0); body.varint(0)
        let tree = try encoder.encode(kind: .tree, children: chunkObjects.map(\.address), body: body.bytes, compression: .none)
        let record = SnapshotRecord(hostName: host, time: Timestamp(seconds: Int64(Date().timeIntervalSince1970), nanoseconds: 0), paths: [],
                                    tags: [], summary: SnapshotSummary(), root: tree.address)
        let snapshot = try encoder.encode(kind: .snapshot, children: record.children, body: record.body, compression: .none)
        return Snapshot(objects: [session.keyObject] + chunkObjects + [tree, snapshot], root: snapshot.address, tree: tree.address,
                        chunks: chunkObjects.map(\.address), keyObject: session.keyObject.address)
    }

    /// The seal of `snapshot` after `previous` (the chain's first when nil), dated an hour ago
    /// plus its sequence in seconds: plausible, and later than the seal before it.
    package func seal(_ snapshot: Snapshot, after previous: Seal?) throws -> Seal {
        let sequence = (previous?.sequence ?? 0) + 1
        let time = Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 3600 + Int64(sequence), nanoseconds: 0)
        return try Seal.make(hostKey: hostKey, previous: previous, time: time, root: snapshot.root, counts: SealCounts())
    }

    /// `count` snapshots, each sealed after the one before.
    package func chain(_ count: Int, chunks: Int = 3) throws -> [(snapshot: Snapshot, seal: Seal)] {
        var chain: [(snapshot: Snapshot, seal: Seal)] = []
        for _ in 0..<count {
            let snapshot = try snapshot(chunks: chunks)
            chain.append((snapshot, try seal(snapshot, after: chain.last?.seal)))
        }
        return chain
    }
}
