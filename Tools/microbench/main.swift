import CLZ4
import CLibCrypto
import Foundation
import SkiffCore
import SkiffSystem

// Micro benchmarks of the hot path, single-threaded, in release mode:
//   skiff-microbench [--megabytes N] [--json FILE]
// Reports raw library speeds (OpenSSL SHA-256, HMAC, AES-256-GCM, ChaCha20-Poly1305, LZ4)
// and Skiff's own paths (chunker; chunk+identity+compress+encrypt+address; decode) on the
// same buffer, and Skiff's overhead over the sum of the raw calls it makes.

struct Measurement: Codable {
    var name: String
    var megabytesPerSecond: Double
    var seconds: Double
}

var megabytes = 256
var jsonPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--megabytes": megabytes = Int(arguments.next() ?? "") ?? megabytes
    case "--json": jsonPath = arguments.next()
    default:
        print("usage: skiff-microbench [--megabytes N] [--json FILE]")
        exit(2)
    }
}

/// Mixed data, deterministic: a third source-like text, a third structured records that
/// compress partly, a third random bytes.
func mixedData(_ count: Int) -> [UInt8] {
    var state: UInt64 = 0x1234_5678
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    var out = [UInt8](repeating: 0, count: count)
    let words = ["func", "let", "var", "return", "value", "buffer", "index", "count", "if", "else", "{", "}", "self", "try", "await"].map { Array($0.utf8) }
    out.withUnsafeMutableBytes { raw in
        var i = 0
        let third = count / 3
        while i < third {
            let word = words[Int(next() % UInt64(words.count))]
            for b in word where i < third { raw[i] = b; i += 1 }
            if i < third { raw[i] = next() % 7 == 0 ? 0x0a : 0x20; i += 1 }
        }
        while i < 2 * third {
            let record = next()
            for k in 0..<32 where i < 2 * third {
                raw[i] = k < 8 ? UInt8(truncatingIfNeeded: record >> (8 * UInt64(k))) : UInt8(k)
                i += 1
            }
        }
        while i + 8 <= count {
            raw.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count { raw[i] = UInt8(truncatingIfNeeded: next()); i += 1 }
    }
    return out
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Best of three runs.
func measure(_ name: String, bytes: Int, _ body: () throws -> Void) rethrows -> Measurement {
    var best = Double.infinity
    for _ in 0..<3 { best = min(best, try time(body)) }
    let result = Measurement(name: name, megabytesPerSecond: Double(bytes) / best / 1e6, seconds: best)
    print(name.padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: "%9.1f MB/s  (%.3f s)", result.megabytesPerSecond, best))
    return result
}

MemoryAllocator.configureForLargeBuffers()
let size = megabytes << 20
print("generating \(megabytes) MiB of mixed data…")
let data = mixedData(size)
print("libcrypto: \(libcryptoVersion), liblz4: \(String(cString: LZ4_versionString()))")
var results: [Measurement] = []

// MARK: Raw library calls on 1 MiB pieces

let piece = 1 << 20
let md = EVP_MD_fetch(nil, "SHA256", nil)!
let mdContext = EVP_MD_CTX_new()!
var digest = [UInt8](repeating: 0, count: 32)
results.append(measure("raw SHA-256 (EVP, 1 MiB pieces)", bytes: size) {
    data.withUnsafeBytes { raw in
        var offset = 0
        while offset < size {
            EVP_DigestInit_ex2(mdContext, md, nil)
            EVP_DigestUpdate(mdContext, raw.baseAddress! + offset, piece)
            EVP_DigestFinal_ex(mdContext, &digest, nil)
            offset += piece
        }
    }
})

let key = [UInt8](repeating: 0x42, count: 32)
let macContext = key.withUnsafeBufferPointer { skiff_hmac_new("SHA256", $0.baseAddress, 32) }!
results.append(measure("raw HMAC-SHA-256 (EVP_MAC, 1 MiB pieces)", bytes: size) {
    data.withUnsafeBytes { raw in
        var offset = 0
        var length = 0
        while offset < size {
            skiff_hmac_restart(macContext)
            EVP_MAC_update(macContext, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, piece)
            EVP_MAC_final(macContext, &digest, &length, 32)
            offset += piece
        }
    }
})

var sealed = [UInt8](repeating: 0, count: piece + 16)
let nonce = [UInt8](repeating: 1, count: 12)
for (name, cipherName) in [("raw AES-256-GCM encrypt (EVP, 1 MiB pieces)", "AES-256-GCM"), ("raw ChaCha20-Poly1305 encrypt (EVP, 1 MiB)", "ChaCha20-Poly1305")] {
    let cipher = EVP_CIPHER_fetch(nil, cipherName, nil)!
    let cipherContext = EVP_CIPHER_CTX_new()!
    results.append(measure(name, bytes: size) {
        data.withUnsafeBytes { raw in
            var offset = 0
            var length: Int32 = 0
            while offset < size {
                EVP_EncryptInit_ex2(cipherContext, cipher, key, nonce, nil)
                EVP_EncryptUpdate(cipherContext, &sealed, &length, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, Int32(piece))
                EVP_EncryptFinal_ex(cipherContext, &sealed, &length)
                EVP_CIPHER_CTX_ctrl(cipherContext, EVP_CTRL_AEAD_GET_TAG, 16, &sealed)
                offset += piece
            }
        }
    })
}

var compressed = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(piece))))
var compressedSizes: [Int32] = []
results.append(measure("raw LZ4 compress (1 MiB pieces)", bytes: size) {
    compressedSizes = []
    data.withUnsafeBytes { raw in
        var offset = 0
        while offset < size {
            let n = compressed.withUnsafeMutableBytes { out in
                LZ4_compress_default(raw.baseAddress!.assumingMemoryBound(to: CChar.self) + offset,
                                     out.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(piece), Int32(out.count))
            }
            compressedSizes.append(n)
            offset += piece
        }
    }
})

// MARK: Skiff's own paths

let tenant = try RestoreKey.generate(config: RepositoryConfig(tenant: .generate()))
let session = try WriteSession.start(config: tenant.publicKey.config, tenant: tenant.publicKey, writeSecrets: tenant.writeSecrets)
let chunker = try tenant.publicKey.config.contentDefinedChunker(secrets: tenant.writeSecrets)
var cuts: [Range<Int>] = []
results.append(measure("skiff chunker (FastCDC, 1 MiB average)", bytes: size) {
    cuts = []
    data.withUnsafeBytes { raw in
        var offset = 0
        while let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[offset...]), isFinal: true) {
            cuts.append(offset..<offset + length)
            offset += length
        }
    }
})
print("  \(cuts.count) chunks, average \(size / max(1, cuts.count)) bytes")

let encoder = ObjectEncoder(session: session)
var objects: [EncodedObject] = []
var storedBytes = 0
let encode = try measure("skiff encode: identity+LZ4+AEAD+address", bytes: size) {
    objects = []
    storedBytes = 0
    try data.withUnsafeBytes { raw in
        for cut in cuts {
            let body = UnsafeRawBufferPointer(rebasing: raw[cut])
            let identity = encoder.identity(kind: .chunk, children: [], body: body)
            let object = try encoder.encode(kind: .chunk, children: [], body: body, identity: identity, compression: .lz4)
            storedBytes += object.bytes.count
            objects.append(object)
        }
    }
}
results.append(encode)
print(String(format: "  stored %.1f%% of the input", Double(storedBytes) / Double(size) * 100))

let wholePath = try measure("skiff chunk+encode (the single-core backup path)", bytes: size) {
    try data.withUnsafeBytes { raw in
        var offset = 0
        while let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[offset...]), isFinal: true) {
            let body = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length])
            let identity = encoder.identity(kind: .chunk, children: [], body: body)
            _ = try encoder.encode(kind: .chunk, children: [], body: body, identity: identity, compression: .lz4)
            offset += length
        }
    }
}
results.append(wholePath)

// The same work done with raw calls on the same chunks: HMAC, LZ4 (kept when it helps),
// AES-256-GCM over what is kept, SHA-256 over the sealed bytes.
let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)!
let cipherContext = EVP_CIPHER_CTX_new()!
var scratch = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(8 << 20))) + 64)
var output = [UInt8](repeating: 0, count: (8 << 20) + 256)
let rawEquivalent = measure("raw equivalent of skiff encode (same calls)", bytes: size) {
    data.withUnsafeBytes { raw in
        var length = 0
        var outLength: Int32 = 0
        for cut in cuts {
            let body = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + cut.lowerBound
            skiff_hmac_restart(macContext)
            EVP_MAC_update(macContext, body, cut.count)
            EVP_MAC_final(macContext, &digest, &length, 32)
            let n = scratch.withUnsafeMutableBufferPointer { s in
                LZ4_compress_default(UnsafeRawPointer(body).assumingMemoryBound(to: CChar.self), UnsafeMutableRawPointer(s.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(cut.count), Int32(cut.count - cut.count / 32))
            }
            output.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeBufferPointer { s in
                    let source = n > 0 ? s.baseAddress! : body
                    let count = n > 0 ? Int(n) : cut.count
                    EVP_EncryptInit_ex2(cipherContext, cipher, key, nonce, nil)
                    EVP_EncryptUpdate(cipherContext, out.baseAddress! + 92, &outLength, source, Int32(count))
                    EVP_EncryptFinal_ex(cipherContext, out.baseAddress! + 92 + Int(outLength), &outLength)
                    EVP_CIPHER_CTX_ctrl(cipherContext, EVP_CTRL_AEAD_GET_TAG, 16, out.baseAddress! + 92 + count)
                    EVP_DigestInit_ex2(mdContext, md, nil)
                    EVP_DigestUpdate(mdContext, out.baseAddress!, 92 + count + 16)
                    EVP_DigestFinal_ex(mdContext, &digest, nil)
                }
            }
        }
    }
}
results.append(rawEquivalent)
let overhead = (encode.seconds - rawEquivalent.seconds) / rawEquivalent.seconds * 100
print(String(format: "  skiff encode overhead over the raw calls: %.1f%%", overhead))

let decoder = ObjectDecoder(identityKey: tenant.writeSecrets.identityKey)
results.append(try measure("skiff decode: address+AEAD+LZ4+identity", bytes: size) {
    for object in objects {
        try decoder.checkAddress(object.bytes, object.address)
        let header = try decoder.header(of: object.bytes, address: object.address, expecting: .chunk)
        _ = try decoder.openBody(object.bytes, header: header, address: object.address, dataKey: session.dataKey)
    }
})

if let jsonPath {
    struct Report: Codable {
        var megabytes: Int
        var chunks: Int
        var storedFraction: Double
        var encodeOverheadPercent: Double
        var results: [Measurement]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(Report(megabytes: megabytes, chunks: cuts.count, storedFraction: Double(storedBytes) / Double(size),
                              encodeOverheadPercent: overhead, results: results)).write(to: URL(fileURLWithPath: jsonPath))
}
