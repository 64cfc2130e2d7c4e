import Foundation
import SkiffCore
import SkiffStorage
import SkiffSystem

// The pack index at scale (docs/SCALE.md): builds the index of a synthetic tenant of N objects
// in packs of the default target size, then times what sites and collections do with it.
//   skiff-scale-bench --folder DIR [--objects N] [--object-bytes B] [--lookups K]
// Rows go in through `PackIndex.commit` (the path a flush takes), in batches of one pack each;
// lookups are `location(of:)` of random present and absent addresses; vouches and sweeps run in
// batches of 4,096 as a site's "missing" answers and a collection's sweep do. Prints JSON.

var folder: String?
var objectCount = 10_000_000
var objectBytes = 64 << 10
var lookups = 200_000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--folder": folder = arguments.next()
    case "--objects": objectCount = Int(arguments.next() ?? "") ?? objectCount
    case "--object-bytes": objectBytes = Int(arguments.next() ?? "") ?? objectBytes
    case "--lookups": lookups = Int(arguments.next() ?? "") ?? lookups
    default:
        print("usage: skiff-scale-bench --folder DIR [--objects N] [--object-bytes B] [--lookups K]")
        exit(2)
    }
}
guard let folder, objectCount > 0, objectBytes > 0, lookups > 0 else {
    print("usage: skiff-scale-bench --folder DIR [--objects N] [--object-bytes B] [--lookups K]")
    exit(2)
}

/// Deterministic pseudo-random addresses (splitmix64), so that lookups can name present ones.
func address(_ index: Int, salt: UInt64 = 0) -> ObjectAddress {
    var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 ^ salt
    var bytes = [UInt8](repeating: 0, count: 32)
    for word in 0..<4 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        for b in 0..<8 { bytes[word * 8 + b] = UInt8(truncatingIfNeeded: z >> (8 * UInt64(b))) }
    }
    return ObjectAddress(Digest256(bytes: bytes))
}

func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

let root = RawPath(folder)
try FileIO.removeTree(root)
try FileIO.makeDirectories(root)
let indexPath = root.appending("packs.sqlite")
let index = try PackIndex(path: indexPath.description)
let perPack = max(1, PackedStore.defaultTargetPackSize / (objectBytes + PackLayout.recordHeaderSize))
let now = Int(Date().timeIntervalSince1970)

var inserted = 0
let insertSeconds = try seconds {
    while inserted < objectCount {
        let id = try index.addPack(PackName.new(startedAt: now), now: now)
        let count = min(perPack, objectCount - inserted)
        var entries: [PackIndex.NewEntry] = []
        entries.reserveCapacity(count)
        for k in 0..<count {
            let offset = PackLayout.headerSize + k * (objectBytes + PackLayout.recordHeaderSize) + PackLayout.recordHeaderSize
            entries.append(PackIndex.NewEntry(entry: PackEntry(address: address(inserted + k), offset: offset, length: objectBytes),
                                              stored: now, replacing: false))
        }
        try index.commit(pack: id, size: PackLayout.headerSize + count * (objectBytes + PackLayout.recordHeaderSize), finished: true, entries: entries)
        inserted += count
        if inserted % 1_000_000 < count { FileHandle.standardError.write(Data("\(inserted) rows\n".utf8)) }
    }
}
var generator = SystemRandomNumberGenerator()
var found = 0
let presentSeconds = try seconds {
    for _ in 0..<lookups where try index.location(of: address(Int.random(in: 0..<objectCount, using: &generator))) != nil { found += 1 }
}
var absent = 0
let absentSeconds = try seconds {
    for i in 0..<lookups where try index.location(of: address(i, salt: 0xABCD)) == nil { absent += 1 }
}
let batch = 4096
let batches = max(1, lookups / batch)
let vouchSeconds = try seconds {
    for _ in 0..<batches {
        _ = try index.vouch((0..<batch).map { _ in address(Int.random(in: 0..<objectCount, using: &generator)) }, now: now + 1)
    }
}
let sweepSeconds = try seconds {
    for b in 0..<batches {
        _ = try index.sweep((0..<batch).map { address(b * batch + $0) }, olderThan: now + 1)
    }
}
let totals = try index.totals()
var indexBytes = 0
for suffix in ["", "-wal"] {
    var st = stat()
    if stat(indexPath.description + suffix, &st) == 0 { indexBytes += Int(st.st_size) }
}
let result: [String: Any] = [
    "objects": objectCount, "objectBytes": objectBytes, "packs": totals.packs, "objectsPerPack": perPack,
    "insertSeconds": insertSeconds, "insertsPerSecond": Double(objectCount) / insertSeconds,
    "lookupsPresentPerSecond": Double(lookups) / presentSeconds, "found": found,
    "lookupsAbsentPerSecond": Double(lookups) / absentSeconds, "absent": absent,
    "vouchesPerSecond": Double(batches * batch) / vouchSeconds, "sweptPerSecond": Double(batches * batch) / sweepSeconds,
    "indexBytes": indexBytes, "indexBytesPerObject": Double(indexBytes) / Double(objectCount), "peakRSSKiB": peakRSSKiB(),
]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
