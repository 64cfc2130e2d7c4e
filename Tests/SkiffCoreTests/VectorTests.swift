import Foundation
import Testing
@testable import SkiffCore

/// Test vectors that pin the format: if one of these changes, old repositories stop
/// reading. Change them only together with a new format version (docs/FORMAT.md).
@Suite struct VectorTests {
    static func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8($0) } }

    static let tenantID = try! TenantID(bytes: bytes(100..<116))
    static let config = RepositoryConfig(tenant: tenantID)
    static let secrets = try! WriteSecrets(master: SecretBytes(bytes(64..<96)))
    static let decryption = try! X25519PrivateKey(secret: SecretBytes(bytes(0..<32)))
    static let certification = try! Ed25519PrivateKey(seed: SecretBytes(bytes(32..<64)))
    static let restoreKey = try! RestoreKey(
        publicKey: TenantPublicKey(config: config, encryptionKey: decryption.publicKey, certificationKey: certification.publicKey),
        decryptionKey: decryption, certificationKey: certification, writeSecrets: secrets)

    /// 200,000 bytes from a fixed linear congruential generator.
    static let chunkerInput: [UInt8] = {
        var state: UInt32 = 1
        return (0..<200_000).map { _ in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
    }()

    @Test func gearTableAndChunkBoundaries() throws {
        let gear = GearTable(chunkerKey: Self.secrets.chunkerKey)
        #expect(String(gear[0], radix: 16) == Self.expectedGear0)
        #expect(String(gear[255], radix: 16) == Self.expectedGear255)
        let chunker = try ContentDefinedChunker(parameters: ChunkerParameters(minSize: 2048, averageSize: 8192, maxSize: 32768), gear: gear)
        var lengths: [Int] = []
        Self.chunkerInput.withUnsafeBytes { raw in
            var offset = 0
            while let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[offset...]), isFinal: true) {
                lengths.append(length)
                offset += length
            }
        }
        #expect(lengths == Self.expectedChunkLengths)
    }

    @Test func keyedIdentity() {
        let mac = HMACSHA256(key: Self.secrets.identityKey)
        let identity = Array("skiff".utf8).withUnsafeBytes { ObjectIdentity.compute(kind: .chunk, children: [], body: $0, mac: mac) }
        #expect(identity.hex == Self.expectedIdentity)
    }

    @Test func encodedObjectDecodes() throws {
        let sessionKeyBytes = Hex.decode(Self.sessionKeyObjectHex)!
        let objectBytes = Hex.decode(Self.chunkObjectHex)!
        let keyAddress = ObjectAddress(SHA256Hasher.digest(sessionKeyBytes))
        let objectAddress = ObjectAddress(SHA256Hasher.digest(objectBytes))
        #expect(objectAddress.hex == Self.expectedChunkAddress)
        let dataKey = try SessionKeyEnvelope.open(sessionKeyBytes, address: keyAddress, with: Self.restoreKey.decryptionKey)
        let decoder = ObjectDecoder(identityKey: Self.secrets.identityKey)
        let header = try decoder.header(of: objectBytes, address: objectAddress, expecting: .chunk)
        #expect(header.sessionKeyAddress == keyAddress)
        #expect(header.compression == .lz4)
        let body = try decoder.openBody(objectBytes, header: header, address: objectAddress, dataKey: dataKey)
        #expect(body == Self.chunkPlaintext)
    }

    static let chunkPlaintext = Array(String(repeating: "Skiff test vector. ", count: 20).utf8)

    @Test func sealEncodingAndSignature() throws {
        let host = try Ed25519PrivateKey(seed: SecretBytes(Self.bytes(200..<232)))
        let certificate = try HostCertificate.issue(by: Self.certification, tenant: Self.tenantID, hostName: "web1", publicKey: host.publicKey, issuedAt: 1_700_000_000)
        let hostKey = HostKey(tenant: Self.restoreKey.publicKey, signingKey: host, certificate: certificate, writeSecrets: Self.secrets)
        let root = ObjectAddress(Digest256(bytes: Self.bytes(1..<33)))
        let first = try Seal.make(hostKey: hostKey, previous: nil, time: Timestamp(seconds: 1_700_000_100, nanoseconds: 7), root: root,
                                  counts: SealCounts(files: 10, directories: 2, logicalBytes: 12345, addedObjects: 5, addedBytes: 999))
        #expect(Hex.encode(first.encoded) == Self.expectedSealHex)
        let decoded = try Seal.decode(Hex.decode(Self.expectedSealHex)!)
        try decoded.verify(by: Self.restoreKey.publicKey)
        #expect(decoded.hash.hex == Self.expectedSealHash)
    }

    // MARK: Pinned values

    static let expectedGear0 = "366c9b4ba0b91c1c"
    static let expectedGear255 = "cebf925722fe8ea3"
    static let expectedChunkLengths: [Int] = [5604, 10169, 8723, 9317, 8291, 10376, 9949, 8383, 11804, 9602, 10349, 9627, 6724, 2666, 8992, 12726, 8692, 10186, 11814, 9540, 9235, 2202, 5029]
    static let expectedIdentity = "cfc7b19c97e6dd14f73792641ac6dfdc03edff30d8a6e278ba721c4d07d03e43"
    static let sessionKeyObjectHex = "534b464f010501010000000000000000eedd883da0a9451593dc0a38e583fb770fa27dbbed209c20404e075e68c4f0c906b7f660765e8558adaebcf06fc4c2bb7d508ae4515ad12f9a03affe58c6c518c4e0474c03754f07cecc7809ea6884eed279200e40ced607803d38f0591728d2994db05bb1c9a07aa293477d01516c0cf15d8251397211828f4d06f5"
    static let chunkObjectHex = "534b464f010101010100000000000000366463dc2bd1b23991a564bace360ac10315147e666780f55a5343a190cd0960a5e2c93477d692097593206f3ddff784ac4dd4a43037419143220ce765b8fe54a39d8052d5e6d9720f6d079f314500f24cb9b820ed336360943a8107bd1df6101586c5837cab8224b52219f599e26dad8a48cb3ddd7a40fb7136e7eae6e9e1"
    static let expectedChunkAddress = "84409f3065f9583e6773bbf88854bd08a662adc66dd5878cfa1afad535cabd2b"
    static let expectedSealHex = "534b4653010101006465666768696a6b6c6d6e6f70717273047765623132b53e882e3daac180d7a5f6224d61b6401b43f901db09f0e4d84ce4e4a2718b00f1536500000000c86fed2e3c07e5b09312285b971e8cf3248289b17536fb996687b52022e4a446ad69878cb46a1286f906389db8ab5e657bda16b881a30caa7325ac7ecb6d4c0c010000000000000007e8a07e159d97170102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2000000000000000000000000000000000000000000000000000000000000000000a02b96005e70762e62aa032bcd8524730d4c344671aa3291dd2f24d8b95fdef5f8cd55b2f2f3909306f99abd8ec8a3bd68a1076baf04e8d6f4d5de4d397afbea48743c0d5e404"
    static let expectedSealHash = "efe474080296773c2eec0075e7bc5d13074586492192d1e11ba0071bf066e438"
}

/// Prints the values above; run once with SKIFF_PRINT_VECTORS=1 when the format changes.
@Test(.enabled(if: ProcessInfo.processInfo.environment["SKIFF_PRINT_VECTORS"] == "1"))
func printVectors() throws {
    let gear = GearTable(chunkerKey: VectorTests.secrets.chunkerKey)
    print("gear0", String(gear[0], radix: 16), "gear255", String(gear[255], radix: 16))
    let chunker = try ContentDefinedChunker(parameters: ChunkerParameters(minSize: 2048, averageSize: 8192, maxSize: 32768), gear: gear)
    var lengths: [Int] = []
    VectorTests.chunkerInput.withUnsafeBytes { raw in
        var offset = 0
        while let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[offset...]), isFinal: true) {
            lengths.append(length)
            offset += length
        }
    }
    print("lengths", lengths)
    let mac = HMACSHA256(key: VectorTests.secrets.identityKey)
    print("identity", Array("skiff".utf8).withUnsafeBytes { ObjectIdentity.compute(kind: .chunk, children: [], body: $0, mac: mac) }.hex)
    let session = try WriteSession.start(config: VectorTests.config, tenant: VectorTests.restoreKey.publicKey, writeSecrets: VectorTests.secrets)
    let object = try ObjectEncoder(session: session).encode(kind: .chunk, children: [], body: VectorTests.chunkPlaintext, compression: .lz4)
    print("sessionKeyObject", Hex.encode(session.keyObject.bytes))
    print("chunkObject", Hex.encode(object.bytes))
    print("chunkAddress", object.address.hex)
    let host = try Ed25519PrivateKey(seed: SecretBytes(VectorTests.bytes(200..<232)))
    let certificate = try HostCertificate.issue(by: VectorTests.certification, tenant: VectorTests.tenantID, hostName: "web1", publicKey: host.publicKey, issuedAt: 1_700_000_000)
    let hostKey = HostKey(tenant: VectorTests.restoreKey.publicKey, signingKey: host, certificate: certificate, writeSecrets: VectorTests.secrets)
    let seal = try Seal.make(hostKey: hostKey, previous: nil, time: Timestamp(seconds: 1_700_000_100, nanoseconds: 7),
                             root: ObjectAddress(Digest256(bytes: VectorTests.bytes(1..<33))),
                             counts: SealCounts(files: 10, directories: 2, logicalBytes: 12345, addedObjects: 5, addedBytes: 999))
    print("seal", Hex.encode(seal.encoded))
    print("sealHash", seal.hash.hex)
}
