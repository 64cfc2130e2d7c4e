import Foundation
import SkiffCore
import SkiffStorage

/// Real data for the conformance checks: a tenant, hosts and encoded objects and seals that
/// any store, including one that verifies everything it accepts (a site), must take.
///
/// Sites must have the tenant and the hosts of `hostNames` registered before the checks run.
package final class ConformanceFixture: Sendable {
    package let tenant: RestoreKey
    package let hostKeys: [String: HostKey]
    let session: WriteSession

    package static let hostNames = ["web1", "web1-b", "web1.example"]

    package init() throws {
        tenant = try RestoreKey.generate(config: RepositoryConfig(tenant: .generate()))
        var keys: [String: HostKey] = [:]
        for name in Self.hostNames { keys[name] = try tenant.issueHostKey(hostName: name, issuedAt: Int64(Date().timeIntervalSince1970)) }
        hostKeys = keys
        session = try WriteSession.start(config: tenant.publicKey.config, tenant: tenant.publicKey, writeSecrets: tenant.writeSecrets)
    }

    /// The session key object the fixture's objects are encrypted under (store it first).
    package var sessionKeyObject: EncodedObject { session.keyObject }

    /// A new chunk object with `size` random bytes of plaintext.
    package func chunk(size: Int = 1000) throws -> EncodedObject {
        try ObjectEncoder(session: session).encode(kind: .chunk, children: [], body: SecureRandom.bytes(size), compression: .none)
    }

    /// Stores a minimal snapshot (an empty tree and a snapshot object, after the session key)
    /// and returns the snapshot's address, to be named by a seal.
    package func storeSnapshot(in store: any ObjectStore, host: String) async throws -> ObjectAddress {
        let encoder = ObjectEncoder(session: session)
        var tree = ByteWriter()
        tree.u8(1); tree.u8(0); tree.varint(0)
        let treeObject = try encoder.encode(kind: .tree, children: [], body: tree.bytes, compression: .none)
        let record = SnapshotRecord(hostName: host, time: Timestamp(seconds: 1, nanoseconds: 0), paths: [], tags: [],
                                    summary: SnapshotSummary(), root: treeObject.address)
        let snapshot = try encoder.encode(kind: .snapshot, children: record.children, body: record.body, compression: .none)
        for object in [session.keyObject, treeObject, snapshot] { _ = try await store.put(.object(object.address), object.bytes) }
        try await store.flush()
        return snapshot.address
    }

    /// A chain of `count` valid seals of `host`, each over a snapshot already stored in `store`.
    package func sealChain(_ count: Int, host: String, in store: any ObjectStore) async throws -> [Seal] {
        guard let key = hostKeys[host] else { throw ConformanceFailure("no host key for \(host)") }
        var seals: [Seal] = []
        for i in 0..<count {
            let root = try await storeSnapshot(in: store, host: host)
            seals.append(try Seal.make(hostKey: key, previous: seals.last, time: Timestamp(seconds: 1000 + Int64(i), nanoseconds: 0),
                                       root: root, counts: SealCounts()))
        }
        return seals
    }
}
