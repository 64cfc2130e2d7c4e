import SkiffBackup
import SkiffCore
import SkiffStorage
import SkiffSystem
import SkiffTestSupport
import Testing

/// A host holds only what it needs to write: with its key file and its cache, nothing it
/// stored can be decrypted.
@Suite struct WriteOnlyTests {
    @Test func nothingAHostHoldsDecryptsWhatItStored() async throws {
        let fixture = try BackupFixture()
        defer { fixture.remove() }
        try FileIO.makeDirectories(fixture.source)
        let secret = Array("the departments' data".utf8)
        try TreeGenerator.write(secret, to: fixture.source.appending("secret.txt"))
        _ = try await fixture.backup()

        // Every 32-byte window of everything on the host that Skiff wrote: the host key file
        // and the local cache database.
        var hostMaterial = Array(fixture.host.armored.utf8) + fixture.host.encoded
        for suffix in ["", "-wal"] where FileIO.exists(RawPath(fixture.cachePath + suffix)) {
            hostMaterial += try FileIO.readFile(RawPath(fixture.cachePath + suffix))
        }
        var candidates: [[UInt8]] = []
        var offset = 0
        while offset + 32 <= hostMaterial.count {
            candidates.append(Array(hostMaterial[offset..<offset + 32]))
            offset += 1
        }
        #expect(candidates.count > 1000)

        var sessionKeys: [(ObjectAddress, [UInt8])] = []
        var sealedObjects: [(ObjectAddress, [UInt8], ObjectHeader)] = []
        for address in try await fixture.objectAddresses() {
            let bytes = try await fixture.store.get(.object(address))
            let header = try ObjectHeader.parse(bytes)
            if header.kind == .sessionKey { sessionKeys.append((address, bytes)) } else { sealedObjects.append((address, bytes, header)) }
            #expect(!bytes.windows(ofCount: secret.count).contains { Array($0) == secret }, "plaintext must never be stored")
        }
        #expect(sessionKeys.count == 1)

        let decoder = ObjectDecoder(identityKey: nil)
        for candidate in candidates {
            let key = SecretBytes(candidate)
            for (address, bytes) in sessionKeys {
                #expect(throws: (any Error).self) { _ = try SessionKeyEnvelope.open(bytes, address: address, with: try X25519PrivateKey(secret: key)) }
            }
            for (address, bytes, header) in sealedObjects.prefix(3) {
                #expect(throws: ObjectError.self) { _ = try decoder.openBody(bytes, header: header, address: address, dataKey: key) }
            }
        }
        // The tenant's restore key does decrypt.
        let reader = fixture.reader()
        let seal = try await fixture.repository.seal(named: try await fixture.repository.sealNames()[0])
        #expect(try await reader.snapshot(seal.root).hostName == "web1")
    }
}

extension Array {
    /// Every run of `count` consecutive elements.
    func windows(ofCount count: Int) -> [ArraySlice<Element>] {
        guard count > 0, self.count >= count else { return [] }
        return (0...(self.count - count)).map { self[$0..<$0 + count] }
    }
}
