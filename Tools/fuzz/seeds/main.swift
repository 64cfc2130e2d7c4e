// skiff-fuzz-seeds [OUTPUT]: writes the seed corpora of the fuzz targets (default
// Tests/FuzzCorpus/<target>/seed-*) from a real backup: a small tree with every entry type, a
// sparse file and a large directory, backed up twice into a local repository with the fuzz
// tenant's key (SkiffFuzzTargets.FuzzKeys), so that objects, session keys, nodes and seals are
// the ones the backup writes. Old seed-* files are replaced; crash-* files are kept.
import Foundation
import Logging
import SkiffBackup
import SkiffCore
import SkiffFuzzTargets
import SkiffGraph
import SkiffRestore
import SkiffSiteProtocol
import SkiffStorage
import SkiffSystem

let output = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Tests/FuzzCorpus"
let work = NSTemporaryDirectory() + "skiff-fuzz-seeds-\(getpid())"
let files = FileManager.default
defer { try? files.removeItem(atPath: work) }

/// Seeds larger than this are left out: they slow fuzzing and bloat the repository.
let largestSeed = 16 << 10
var seeds: [FuzzTarget: [[UInt8]]] = [:]
/// Seeds taken so far of each group (a kind of object, say): the 400 one-line files must not
/// give 400 chunk seeds of one shape.
var groups: [String: Int] = [:]
@MainActor func seed(_ target: FuzzTarget, _ bytes: [UInt8], group: String? = nil) {
    guard bytes.count <= largestSeed, !(seeds[target] ?? []).contains(bytes) else { return }
    if let group {
        let key = "\(target.rawValue) \(group)"
        guard groups[key, default: 0] < 4 else { return }
        groups[key, default: 0] += 1
    }
    seeds[target, default: []].append(bytes)
}
@MainActor func seed(_ target: FuzzTarget, _ text: String) { seed(target, Array(text.utf8)) }

// A tree with every entry type the format knows.
let source = work + "/source"
try files.createDirectory(atPath: source + "/dir/sub", withIntermediateDirectories: true)
try files.createDirectory(atPath: source + "/many", withIntermediateDirectories: true)
try String(repeating: "Skiff keeps every change of this file at several sites.\n", count: 40).write(toFile: source + "/README.txt", atomically: false, encoding: .utf8)
try "notes\n".write(toFile: source + "/notes.md", atomically: false, encoding: .utf8)
try "deep\n".write(toFile: source + "/dir/sub/deep.txt", atomically: false, encoding: .utf8)
try Data().write(to: URL(fileURLWithPath: source + "/empty"))
try Data((0..<700).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }).write(to: URL(fileURLWithPath: source + "/random.bin"))
for i in 0..<400 { try "\(i)\n".write(toFile: source + "/many/file-\(i)", atomically: false, encoding: .utf8) }
try files.createSymbolicLink(atPath: source + "/link", withDestinationPath: "README.txt")
try files.linkItem(atPath: source + "/notes.md", toPath: source + "/hardlink")
_ = mkfifo(source + "/fifo", 0o644)
try? ExtendedAttributes.set(RawPath(source + "/notes.md"), name: Array("user.comment".utf8), value: Array("seed".utf8))
let sparse = open(source + "/sparse", O_CREAT | O_WRONLY, 0o644)
_ = pwrite(sparse, "tail of a sparse file", 21, 3 << 20)
close(sparse)

// Two backups (the second after a change) into a local repository, as `skiff backup` makes them.
let tenant = FuzzKeys.restoreKey
let host = try tenant.issueHostKey(hostName: "web1", issuedAt: 1_700_000_000)
let store = try await PackedStore.open(folder: try FileSystemStore.create(at: RawPath(work + "/repo")))
let repository = Repository(store: store, location: work + "/repo")
var sealed: [Seal] = []
for round in 0..<2 {
    if round == 1 { try "notes, changed\n".write(toFile: source + "/notes.md", atomically: false, encoding: .utf8) }
    let writer = try SnapshotWriter(
        hostKey: host, destination: RepositoryDestination(repository: repository), cache: try LocalCache(path: work + "/cache.sqlite"),
        options: BackupOptions(), logger: Logger(label: "skiff-fuzz-seeds"))
    sealed.append(try await writer.backup(paths: [RawPath(source)], time: TimeFormat.now()).seal)
}

// Objects as stored, their bodies, and the bodies sealed again under the fuzz data key.
let reader = ObjectReader(repository: repository, restoreKey: tenant)
let identityMAC = HMACSHA256(key: FuzzKeys.identityKey)
var small: [(ObjectAddress, [UInt8])] = []
for try await address in repository.objectAddresses() {
    let bytes = try await repository.objectBytes(address)
    let header = try ObjectHeader.parse(bytes)
    seed(.object, bytes, group: "\(header.kind) \(header.compression) \(header.children.count > 0)")
    if bytes.count <= 4096 { small.append((address, bytes)) }
    guard header.kind.isSessionEncrypted else { continue }
    let body = try await reader.open(address, expecting: header.kind).body
    let selector: [ObjectKind: UInt8] = [.tree: 0, .contentList: 1, .snapshot: 2]
    if let selector = selector[header.kind] {
        seed(.node, [selector, UInt8(truncatingIfNeeded: header.children.count)] + body, group: "\(header.kind) \(body.count > 2048)")
    }
    let kindBits = UInt8(ObjectKind.allCases.firstIndex(of: header.kind)!)
    var lz4 = [UInt8](repeating: 0, count: 4 + LZ4Block.compressBound(body.count))
    let written = body.isEmpty ? nil : lz4.withUnsafeMutableBytes { out in
        body.withUnsafeBytes { LZ4Block.compress($0, into: UnsafeMutableRawBufferPointer(rebasing: out[4...])) }
    }
    let payloads: [(CompressionAlgorithm, [UInt8])] = [(.none, body)]
        + (written.map { count in
            withUnsafeBytes(of: UInt32(body.count).littleEndian) { lz4.replaceSubrange(0..<4, with: $0) }
            return [(.lz4, Array(lz4[..<(4 + count)]))]
        } ?? [])
    let identity = body.withUnsafeBytes { ObjectIdentity.compute(kind: header.kind, children: header.children, body: $0, mac: identityMAC) }
    for (index, (compression, payload)) in payloads.enumerated() {
        let aead: AEADAlgorithm = index == 0 ? .aes256GCM : .chacha20Poly1305
        let choices = kindBits | (compression == .lz4 ? 4 : 0) | (aead == .chacha20Poly1305 ? 8 : 0)
        let group = "\(header.kind) \(compression) \(body.count > 2048)"
        seed(.objectBody, [choices, UInt8(truncatingIfNeeded: header.children.count)] + payload, group: group)
        seed(.object, try FuzzKeys.sealObject(kind: header.kind, aead: aead, compression: compression, children: header.children,
                                              identity: identity.digest, payload: payload), group: "sealed again " + group)
    }
}

// Bundles and fetch answers of those objects.
small.sort { $0.1.count < $1.1.count }
seed(.bundle, [])
for count in [1, 3, 8] {
    var body: [UInt8] = []
    for (address, bytes) in small.prefix(count) { ObjectBundle.append(address, bytes, to: &body) }
    seed(.bundle, body)
    var answer = body
    answer += ObjectBundle.recordHeader(FuzzKeys.child(count), length: nil)
    seed(.fetchAnswer, [UInt8(count + 1), UInt8(count)] + answer)
    seed(.fetchAnswer, [UInt8(count), 0] + answer)
}

// Seals, their names, listing cursors and ranges.
for seal in sealed {
    seed(.seal, seal.encoded)
    seed(.siteRequest, seal.name.description)
    seed(.siteRequest, SealListCursor(host: seal.hostName, sequence: seal.sequence).text)
    seed(.siteRequest, seal.root.hex)
}
seed(.siteRequest, tenant.tenant.hex)
for range in ["bytes=0-99", "bytes=4096-", "bytes=0-0", "1000"] { seed(.siteRequest, range) }

// Key files, armored and raw, and a paper key.
let wrapped = try tenant.wrapped(passphrase: Array("fuzz".utf8), parameters: ScryptParameters(logN: 10))
let certificate = host.certificate.encoded(tenant: tenant.tenant)
for (armored, raw) in [(host.armored, host.encoded), (tenant.publicKey.armored, tenant.publicKey.encoded),
                       (wrapped.armored, wrapped.encoded), (host.certificate.armored(tenant: tenant.tenant), certificate)] {
    seed(.keyFile, armored)
    seed(.keyFile, raw)
}
seed(.keyFile, PaperKey.render(wrapped))

// Configurations: the README's, one with an agent section, the smallest.
seed(.config, """
    host_key: /etc/skiff/host.key
    state_dir: /var/lib/skiff        # the outbox and the cache
    quorum: 2
    quorum_timeout: 60
    sites:
      - name: cloud-a
        url: https://site-a.example:8443
        token_file: tokens/cloud-a
        fingerprint: sha256:6cc48b8f6cc48b8f6cc48b8f6cc48b8f6cc48b8f6cc48b8f6cc48b8f6cc48b8f
      - name: dr-centre
        url: https://dr.example:8443
        token_file: tokens/dr-centre
        ca_file: /etc/skiff/ca.pem

    """)
seed(.config, """
    host_key: host.key
    sites:
      - {name: s1, url: "https://127.0.0.1:8443", token_file: ~/token}
    agent:
      paths: [/etc, /srv]
      exclude: ["*.tmp", /srv/cache]
      exclude_caches: true
      one_file_system: true
      settle_ms: 50
      min_interval_ms: 500
      rescan_interval: 3600
      nice: 10
      io_class: idle
      metrics_listen: 127.0.0.1:9464
      pre_snapshot: /usr/local/sbin/dump-db
      post_snapshot: logger "sealed $SKIFF_SEAL"

    """)
seed(.config, "quorum: 1\n")

// Write them: seed-<first 16 hex digits of the SHA-256>, replacing older seeds.
var total = 0
for target in FuzzTarget.allCases {
    let folder = output + "/" + target.rawValue
    try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for name in try files.contentsOfDirectory(atPath: folder) where name.hasPrefix("seed-") {
        try files.removeItem(atPath: folder + "/" + name)
    }
    let list = seeds[target] ?? []
    var accepted = 0
    for bytes in list {
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/seed-" + SHA256Hasher.digest(bytes).hex.prefix(16)))
        total += bytes.count
        if bytes.withUnsafeBytes({ target.run($0) }) == .accepted { accepted += 1 }
    }
    print("\(target.rawValue): \(list.count) seeds, \(accepted) accepted, \(list.reduce(0) { $0 + $1.count }) bytes")
}
print("total: \(total) bytes in \(output)")
