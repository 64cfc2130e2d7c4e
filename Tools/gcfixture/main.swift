import Foundation
import Logging
import SkiffCore
import SkiffSite
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem

// Builds a site data folder for the garbage-collection benchmark (Tools/README.md, scenario `gc`):
//   skiff-gc-fixture --data DIR [--objects N] [--seals S]
// One tenant ("bench"), one host, S snapshots of N/S objects each (a snapshot object, trees of
// 1,000 children, small chunks; real encrypted objects under one session key), the older half
// retired through the site's own retention code, and a policy with no grace and no reuse
// horizon: `skiff-site gc` then deletes about half of the objects.

var folder: String?
var objectCount = 1_000_000
var sealCount = 40
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--data": folder = arguments.next()
    case "--objects": objectCount = Int(arguments.next() ?? "") ?? objectCount
    case "--seals": sealCount = Int(arguments.next() ?? "") ?? sealCount
    default:
        print("usage: skiff-gc-fixture --data DIR [--objects N] [--seals S]")
        exit(2)
    }
}
guard let folder, sealCount >= 2, objectCount >= sealCount * 4 else {
    print("usage: skiff-gc-fixture --data DIR [--objects N] [--seals S]")
    exit(2)
}

let data = RawPath(folder)
try FileIO.makeDirectories(data)
let layout = SiteDataLayout(folder: data)
let registry = try SiteRegistry(path: layout.registry.description)
let restoreKey = try RestoreKey.generate(config: RepositoryConfig(tenant: .generate()))
let tenant = try registry.addTenant(name: "bench", publicKey: restoreKey.publicKey)
let hostKey = try restoreKey.issueHostKey(hostName: "bench-host", issuedAt: Int64(Date().timeIntervalSince1970))
_ = try registry.registerHost(tenant: tenant, certificate: hostKey.certificate)
let service = SiteService(registry: registry, stores: FolderTenantStores(root: layout.tenants), metrics: SiteMetrics(),
                          logger: Logger(label: "skiff.gc-fixture"))
let store = try service.store(tenant.id)

let session = try WriteSession.start(config: hostKey.config, tenant: hostKey.tenant, writeSecrets: hostKey.writeSecrets)
let encoder = ObjectEncoder(session: session)
_ = try await store.put(.object(session.keyObject.address), session.keyObject.bytes)
var random = SystemRandomNumberGenerator()
var body = [UInt8](repeating: 0, count: 96)
let perSnapshot = objectCount / sealCount
let fanOut = 1000
var previous: Seal?
var written = 1
for snapshot in 1...sealCount {
    var trees: [ObjectAddress] = []
    var children: [ObjectAddress] = []
    // Chunks and full trees, leaving two objects for the root tree and the snapshot.
    let chunks = perSnapshot - 2 - (perSnapshot / (fanOut + 1))
    for _ in 0..<chunks {
        for index in body.indices { body[index] = UInt8.random(in: 0...255, using: &random) }
        let chunk = try encoder.encode(kind: .chunk, children: [], body: body, compression: .none)
        _ = try await store.put(.object(chunk.address), chunk.bytes)
        children.append(chunk.address)
        if children.count == fanOut {
            let tree = try encoder.encode(kind: .tree, children: children, body: Array("tree".utf8), compression: .none)
            _ = try await store.put(.object(tree.address), tree.bytes)
            trees.append(tree.address)
            children = []
        }
    }
    let root = try encoder.encode(kind: .tree, children: trees + children, body: Array("root \(snapshot)".utf8), compression: .none)
    _ = try await store.put(.object(root.address), root.bytes)
    let snapshotObject = try encoder.encode(kind: .snapshot, children: [root.address], body: Array("snapshot \(snapshot)".utf8), compression: .none)
    _ = try await store.put(.object(snapshotObject.address), snapshotObject.bytes)
    written += chunks + trees.count + 2
    try await store.flush()
    let seal = try Seal.make(hostKey: hostKey, previous: previous, time: Timestamp(unixNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)), root: snapshotObject.address,
                             counts: SealCounts(files: UInt64(chunks), directories: UInt64(trees.count + 1)))
    _ = try await store.put(.seal(seal.name), seal.encoded)
    try await store.flush()
    try registry.recordSeal(seal, tenant: tenant.id)
    previous = seal
    FileHandle.standardError.write(Data("snapshot \(snapshot)/\(sealCount): \(written) objects\n".utf8))
}
var policy = RetentionPolicy()
policy.keepWithin = 0
policy.graceSeconds = 0
policy.reuseHorizonSeconds = 0
try registry.setRetentionPolicy(policy, tenant: tenant.id)
let administrator = SiteService.consoleAdministrator()
for name in try await Repository(store: store, location: "site").sealNames().prefix(sealCount / 2) {
    try await service.retireSeal(tenant: tenant, name: name, principal: administrator, reason: "benchmark fixture")
}
print("{\"tenant\": \"bench\", \"objects\": \(written), \"seals\": \(sealCount), \"retired\": \(sealCount / 2)}")
