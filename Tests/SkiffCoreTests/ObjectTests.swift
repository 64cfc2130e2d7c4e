import Testing
@testable import SkiffCore
import SkiffTestSupport

@Suite struct ObjectTests {
    struct Fixture {
        let tenant: RestoreKey
        let session: WriteSession
        let encoder: ObjectEncoder
        let decoder: ObjectDecoder

        init(aead: AEADAlgorithm = .aes256GCM) throws {
            tenant = try TestKeys.tenant(aead: aead)
            session = try WriteSession.start(config: tenant.publicKey.config, tenant: tenant.publicKey, writeSecrets: tenant.writeSecrets)
            encoder = ObjectEncoder(session: session)
            decoder = ObjectDecoder(identityKey: tenant.writeSecrets.identityKey)
        }

        func open(_ object: EncodedObject, expecting kind: ObjectKind) throws -> [UInt8] {
            try decoder.checkAddress(object.bytes, object.address)
            let header = try decoder.header(of: object.bytes, address: object.address, expecting: kind)
            #expect(header.sessionKeyAddress == session.keyAddress)
            let dataKey = try SessionKeyEnvelope.open(session.keyObject.bytes, address: session.keyAddress, with: tenant.decryptionKey)
            return try decoder.openBody(object.bytes, header: header, address: object.address, dataKey: dataKey)
        }
    }

    @Test(arguments: AEADAlgorithm.allCases)
    func objectsRoundTripUnderEachAEAD(_ aead: AEADAlgorithm) throws {
        let fixture = try Fixture(aead: aead)
        var random = SeededRandom(seed: 9)
        for body in [[], [1], random.bytes(100_000), random.text(100_000)] as [[UInt8]] {
            let object = try fixture.encoder.encode(kind: .chunk, children: [], body: body, compression: .lz4)
            #expect(try fixture.open(object, expecting: .chunk) == body)
            let header = try ObjectHeader.parse(object.bytes)
            #expect(header.aead == aead)
        }
    }

    @Test func compressionIsKeptOnlyWhenItHelps() throws {
        let fixture = try Fixture()
        var random = SeededRandom(seed: 10)
        let text = try fixture.encoder.encode(kind: .chunk, children: [], body: random.text(200_000), compression: .lz4)
        let noise = try fixture.encoder.encode(kind: .chunk, children: [], body: random.bytes(200_000), compression: .lz4)
        #expect(try ObjectHeader.parse(text.bytes).compression == .lz4)
        #expect(text.bytes.count < 120_000)
        #expect(try ObjectHeader.parse(noise.bytes).compression == .none)
        #expect(noise.bytes.count == 200_000 + ObjectHeader.encodedSize(childCount: 0) + AEADAlgorithm.tagCount)
    }

    @Test func identityIsAKeyedHashOfThePlaintext() throws {
        let a = try Fixture(), b = try Fixture()
        let body: [UInt8] = Array("same content".utf8)
        let first = try a.encoder.encode(kind: .chunk, children: [], body: body, compression: .lz4)
        let second = try a.encoder.encode(kind: .chunk, children: [], body: body, compression: .lz4)
        #expect(first.identity == second.identity, "equal plaintext must give equal identities")
        #expect(first.address != second.address, "fresh nonces make every stored object distinct")
        let otherTenant = try b.encoder.encode(kind: .chunk, children: [], body: body, compression: .lz4)
        #expect(otherTenant.identity != first.identity, "identities are keyed per repository")
        let asTree = try a.encoder.encode(kind: .tree, children: [], body: body, compression: .lz4)
        #expect(asTree.identity != first.identity, "the kind is part of the identity")
    }

    @Test func everyFlippedByteIsCaught() throws {
        let fixture = try Fixture()
        let child = ObjectAddress(Digest256(bytes: [UInt8](repeating: 3, count: 32)))
        let object = try fixture.encoder.encode(kind: .tree, children: [child], body: Array("tree body".utf8), compression: .none)
        for position in stride(from: 0, to: object.bytes.count, by: 1) {
            var bytes = object.bytes
            bytes[position] ^= 0x01
            #expect(throws: ObjectError.self, "flip at \(position) must fail the address check") {
                try fixture.decoder.checkAddress(bytes, object.address)
            }
            // An attacker who stores the bytes under their new hash still fails the header or AEAD.
            let forged = ObjectAddress(SHA256Hasher.digest(bytes))
            #expect(throws: (any Error).self, "flip at \(position) must fail decoding") {
                let header = try fixture.decoder.header(of: bytes, address: forged, expecting: .tree)
                let key = try SessionKeyEnvelope.open(fixture.session.keyObject.bytes, address: fixture.session.keyAddress, with: fixture.tenant.decryptionKey)
                _ = try fixture.decoder.openBody(bytes, header: header, address: forged, dataKey: key)
            }
        }
    }

    @Test func truncatedObjectsAreRejected() throws {
        let fixture = try Fixture()
        let object = try fixture.encoder.encode(kind: .chunk, children: [], body: Array(repeating: 5, count: 1000), compression: .none)
        for length in [0, 10, 50, object.bytes.count - 1] {
            let bytes = Array(object.bytes.prefix(length))
            #expect(throws: ObjectError.self) { try fixture.decoder.checkAddress(bytes, object.address) }
            #expect(throws: (any Error).self) {
                let header = try fixture.decoder.header(of: bytes, address: object.address, expecting: .chunk)
                _ = try fixture.decoder.openBody(bytes, header: header, address: object.address, dataKey: fixture.session.dataKey)
            }
        }
    }

    @Test func theKindIsBoundAndChecked() throws {
        let fixture = try Fixture()
        let object = try fixture.encoder.encode(kind: .chunk, children: [], body: [1, 2, 3], compression: .none)
        #expect(throws: ObjectError.unexpectedKind(object.address, expected: .tree, actual: .chunk)) {
            _ = try fixture.decoder.header(of: object.bytes, address: object.address, expecting: .tree)
        }
    }

    @Test func aPlaintextThatDoesNotMatchItsIdentityIsCaught() throws {
        let fixture = try Fixture()
        let wrongIdentity = ObjectIdentity(Digest256(bytes: [UInt8](repeating: 9, count: 32)))
        let object = try [UInt8]([1, 2, 3]).withUnsafeBytes {
            try fixture.encoder.encode(kind: .chunk, children: [], body: $0, identity: wrongIdentity, compression: .none)
        }
        #expect(throws: ObjectError.identityMismatch(object.address)) { _ = try fixture.open(object, expecting: .chunk) }
    }

    @Test func sessionKeysOpenOnlyWithTheTenantKey() throws {
        let fixture = try Fixture()
        let stranger = try TestKeys.tenant()
        #expect(throws: KeyError.wrongTenantKey) {
            _ = try SessionKeyEnvelope.open(fixture.session.keyObject.bytes, address: fixture.session.keyAddress, with: stranger.decryptionKey)
        }
        var tampered = fixture.session.keyObject.bytes
        tampered[tampered.count - 20] ^= 0x80
        #expect(throws: ObjectError.authenticationFailed(fixture.session.keyAddress)) {
            _ = try SessionKeyEnvelope.open(tampered, address: fixture.session.keyAddress, with: fixture.tenant.decryptionKey)
        }
    }

    @Test func aWrongDataKeyFailsAuthentication() throws {
        let fixture = try Fixture()
        let object = try fixture.encoder.encode(kind: .chunk, children: [], body: [1, 2, 3], compression: .none)
        let header = try ObjectHeader.parse(object.bytes)
        #expect(throws: ObjectError.authenticationFailed(object.address)) {
            _ = try fixture.decoder.openBody(object.bytes, header: header, address: object.address, dataKey: .random(count: 32))
        }
    }

    @Test func headersWithHostileCountsAreRejected() throws {
        var writer = ByteWriter()
        writer.raw(ObjectHeader.magic)
        writer.u8(1); writer.u8(ObjectKind.tree.rawValue); writer.u8(1); writer.u8(1); writer.u8(0)
        writer.raw([0, 0, 0])
        writer.u32(UInt32.max)
        #expect(throws: FormatError.self) { _ = try ObjectHeader.parse(writer.bytes) }
    }

    /// An object sealed under the fixture's session with `payload` as its stored body.
    static func sealed(_ fixture: Fixture, compression: CompressionAlgorithm, payload: [UInt8]) throws -> (ObjectAddress, [UInt8]) {
        let header = ObjectHeader(kind: .chunk, aead: .aes256GCM, compression: compression, children: [],
                                  keyField: fixture.session.keyAddress.digest, identityField: .zero, nonce: SecureRandom.bytes(12))
        let headerBytes = header.encoded
        var bytes = headerBytes + [UInt8](repeating: 0, count: payload.count + AEADAlgorithm.tagCount)
        try bytes.withUnsafeMutableBytes { out in
            try headerBytes.withUnsafeBytes { aad in
                try header.nonce.withUnsafeBytes { nonce in
                    try payload.withUnsafeBytes { plain in
                        _ = try AEADCipher().seal(.aes256GCM, key: fixture.session.dataKey, nonce: nonce, associatedData: aad, plaintext: plain,
                                                  into: UnsafeMutableRawBufferPointer(rebasing: out[headerBytes.count...]))
                    }
                }
            }
        }
        return (ObjectAddress(SHA256Hasher.digest(bytes)), bytes)
    }

    /// Found by fuzzing: the u32 size before an LZ4 block was allocated as claimed (up to
    /// 96 MiB) before LZ4 read the block, whatever the block's size; a block expands at most
    /// 255 times, so larger claims are refused first.
    @Test func anLZ4SizeClaimBeyondWhatTheBlockCanHoldIsRefusedBeforeDecompressing() throws {
        let fixture = try Fixture()
        let decoder = ObjectDecoder(identityKey: nil)
        let block: [UInt8] = [0x10, 0x61, 0, 0, 0, 0]
        for (claim, refusedUpFront) in [(64 << 20, true), (block.count * LZ4Block.maxExpansion + 1, true), (block.count * LZ4Block.maxExpansion, false)] {
            var size = [UInt8](repeating: 0, count: 4)
            size.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(claim).littleEndian, as: UInt32.self) }
            let (address, bytes) = try Self.sealed(fixture, compression: .lz4, payload: size + block)
            let header = try decoder.header(of: bytes, address: address, expecting: .chunk)
            do {
                _ = try decoder.openBody(bytes, header: header, address: address, dataKey: fixture.session.dataKey)
                Issue.record("a block claiming \(claim) bytes opened")
            } catch let error as ObjectError {
                #expect("\(error)".contains("claims \(claim) bytes") == refusedUpFront, "\(error)")
            }
        }
    }

    /// The bound leaves room for the best compression LZ4 achieves: 16 MiB of zeros.
    @Test func theMostCompressibleBodyStillOpens() throws {
        let fixture = try Fixture()
        let zeros = [UInt8](repeating: 0, count: 16 << 20)
        let object = try fixture.encoder.encode(kind: .chunk, children: [], body: zeros, compression: .lz4)
        #expect(try ObjectHeader.parse(object.bytes).compression == .lz4)
        #expect(try fixture.open(object, expecting: .chunk) == zeros)
    }
}
