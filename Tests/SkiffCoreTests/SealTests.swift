import Testing
@testable import SkiffCore
import SkiffTestSupport

@Suite struct SealTests {
    static func root(_ byte: UInt8) -> ObjectAddress { ObjectAddress(Digest256(bytes: [UInt8](repeating: byte, count: 32))) }

    static func chain(_ count: Int, host: HostKey) throws -> [Seal] {
        var seals: [Seal] = []
        for i in 0..<count {
            seals.append(try Seal.make(hostKey: host, previous: seals.last, time: Timestamp(seconds: Int64(1000 + i), nanoseconds: 5),
                                       root: root(UInt8(i)), counts: SealCounts(files: UInt64(i))))
        }
        return seals
    }

    @Test func sealsRoundTripAndVerify() throws {
        let tenant = try TestKeys.tenant()
        let host = try TestKeys.host(of: tenant)
        let seals = try Self.chain(3, host: host)
        for seal in seals {
            let decoded = try Seal.decode(seal.encoded)
            #expect(decoded == seal)
            try decoded.verify(by: tenant.publicKey)
        }
        #expect(seals[1].previous == seals[0].hash)
        #expect(seals[2].sequence == 3)
        #expect(SealChain.problems(in: seals).isEmpty)
    }

    @Test func everyFlippedByteIsCaught() throws {
        let tenant = try TestKeys.tenant()
        let seal = try Self.chain(2, host: try TestKeys.host(of: tenant))[1]
        let bytes = seal.encoded
        for position in 0..<bytes.count {
            var tampered = bytes
            tampered[position] ^= 0x04
            #expect(throws: (any Error).self, "flip at \(position)") {
                try Seal.decode(tampered).verify(by: tenant.publicKey)
            }
        }
    }

    @Test func aSealByAnUncertifiedKeyIsAnUnknownSigner() throws {
        let tenant = try TestKeys.tenant()
        let intruderTenant = try TestKeys.tenant(aead: .aes256GCM)
        // Same tenant id, but certified by another certification key.
        let intruder = try RestoreKey(
            publicKey: TenantPublicKey(config: tenant.publicKey.config, encryptionKey: intruderTenant.publicKey.encryptionKey,
                                       certificationKey: intruderTenant.certificationKey.publicKey),
            decryptionKey: intruderTenant.decryptionKey, certificationKey: intruderTenant.certificationKey, writeSecrets: tenant.writeSecrets)
        let seal = try Self.chain(1, host: try TestKeys.host(of: intruder))[0]
        #expect(throws: SealError.unknownSigner(seal.name, seal.certificate.publicKey.fingerprint)) { try seal.verify(by: tenant.publicKey) }
    }

    @Test func chainProblemsAreFound() throws {
        let tenant = try TestKeys.tenant()
        let host = try TestKeys.host(of: tenant)
        let seals = try Self.chain(5, host: host)
        let gap = SealChain.problems(in: seals.enumerated().filter { $0.offset != 2 }.map(\.element))
        #expect(gap.count == 1)
        if case .brokenChain(let name, _) = gap.first { #expect(name.sequence == 4) } else { Issue.record("expected a broken chain: \(gap)") }

        let fork = try Seal.make(hostKey: host, previous: seals[1], time: Timestamp(seconds: 5000, nanoseconds: 0), root: Self.root(99), counts: SealCounts())
        let forked = SealChain.problems(in: seals + [fork])
        #expect(forked.contains { if case .fork = $0 { return true } else { return false } })

        let missingStart = SealChain.problems(in: Array(seals.dropFirst(2)))
        #expect(missingStart.count == 1)
    }

    @Test func sealNamesRoundTrip() throws {
        let seal = try Self.chain(1, host: try TestKeys.host(of: try TestKeys.tenant()))[0]
        let name = seal.name
        #expect(SealName(host: name.host, fileName: name.fileName) == name)
        #expect(name.fileName.hasPrefix("0000000000000001-"))
        #expect(SealName(host: "h", fileName: "zz-00") == nil)
    }

    /// Seal paths come from requests (`GET …/seals/{host}/{file}`) and become store keys:
    /// found by fuzzing, `..` or an empty host was taken as a host, and `+`-signed or
    /// upper-case file names named the same seal as the canonical one.
    @Test func onlyCanonicalSealNamesWithValidHostsParse() {
        let file = SealName(host: "web1", sequence: 7, hash: Digest256(bytes: [UInt8](repeating: 0xab, count: 32))).fileName
        #expect(SealName(host: "web1", fileName: file) != nil)
        for host in ["..", ".", "", "a/b", "-x", String(repeating: "h", count: 65)] {
            #expect(SealName(host: host, fileName: file) == nil, "host \(host)")
        }
        for name in ["+" + file.dropFirst(), file.uppercased(), "0" + file, file + "-", "-" + file, String(file.dropFirst())] {
            #expect(SealName(host: "web1", fileName: name) == nil, "file \(name)")
        }
    }
}
