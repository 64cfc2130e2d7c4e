import Testing
@testable import SkiffCore
import SkiffTestSupport

@Suite struct KeyTests {
    @Test func restoreKeysWrapAndUnwrap() throws {
        let key = try TestKeys.tenant()
        let wrapped = try key.wrapped(passphrase: TestKeys.passphrase, parameters: TestKeys.fastScrypt)
        let reread = try WrappedRestoreKey.dearmor(wrapped.armored)
        let opened = try reread.unwrap(passphrase: TestKeys.passphrase)
        #expect(opened.publicKey == key.publicKey)
        #expect(opened.decryptionKey.secret == key.decryptionKey.secret)
        #expect(opened.writeSecrets.master == key.writeSecrets.master)
    }

    @Test func aWrongPassphraseIsReportedAsSuch() throws {
        let wrapped = try TestKeys.tenant().wrapped(passphrase: TestKeys.passphrase, parameters: TestKeys.fastScrypt)
        #expect(throws: KeyError.wrongPassphrase) { _ = try wrapped.unwrap(passphrase: Array("nope".utf8)) }
    }

    @Test func aTamperedPublicPartMakesUnwrappingFail() throws {
        let key = try TestKeys.tenant()
        let other = try TestKeys.tenant()
        var wrapped = try key.wrapped(passphrase: TestKeys.passphrase, parameters: TestKeys.fastScrypt)
        // Swap in another tenant's public key: the sealed secrets are bound to the original.
        wrapped = WrappedRestoreKey(publicKey: other.publicKey, scrypt: wrapped.scrypt, salt: wrapped.salt, nonce: wrapped.nonce, sealedSecrets: wrapped.sealedSecrets)
        #expect(throws: KeyError.wrongPassphrase) { _ = try wrapped.unwrap(passphrase: TestKeys.passphrase) }
    }

    @Test func thePaperFormRoundTripsAndNamesAMistypedLine() throws {
        let wrapped = try TestKeys.tenant().wrapped(passphrase: TestKeys.passphrase, parameters: TestKeys.fastScrypt)
        let paper = PaperKey.render(wrapped)
        #expect(try PaperKey.parse(paper) == wrapped)
        var lines = paper.split(separator: "\n").map(String.init)
        let index = lines.firstIndex { $0.hasPrefix("03:") }!
        var chars = Array(lines[index])
        chars[5] = chars[5] == "0" ? "1" : "0"
        lines[index] = String(chars)
        #expect(throws: KeyError.paperKeyLine(3, "checksum does not match: a digit was mistyped")) {
            _ = try PaperKey.parse(lines.joined(separator: "\n"))
        }
        let missingLine = paper.split(separator: "\n").filter { !$0.hasPrefix("05:") }.joined(separator: "\n")
        #expect(throws: KeyError.self) { _ = try PaperKey.parse(missingLine) }
    }

    @Test func hostKeysCarryAVerifiableCertificate() throws {
        let tenant = try TestKeys.tenant()
        let host = try TestKeys.host("db-1", of: tenant)
        let reread = try HostKey.dearmor(host.armored)
        #expect(reread.hostName == "db-1")
        try reread.certificate.verify(by: tenant.publicKey)
        let stranger = try TestKeys.tenant()
        #expect(throws: KeyError.self) { try reread.certificate.verify(by: stranger.publicKey) }
    }

    @Test func aHostKeyWithAForgedCertificateIsRejected() throws {
        let tenant = try TestKeys.tenant()
        let host = try TestKeys.host("web1", of: tenant)
        let forger = Ed25519PrivateKey.generate()
        let forged = try HostCertificate.issue(by: forger, tenant: tenant.tenant, hostName: "web1", publicKey: host.signingKey.publicKey, issuedAt: 1)
        let tamperedKey = HostKey(tenant: tenant.publicKey, signingKey: host.signingKey, certificate: forged, writeSecrets: host.writeSecrets)
        #expect(throws: KeyError.self) { _ = try HostKey.decode(tamperedKey.encoded) }
    }

    @Test(arguments: ["", "-lead", ".hidden", "has space", "slash/name", String(repeating: "a", count: 65), "ümlaut"])
    func badHostNamesAreRejected(_ name: String) throws {
        let tenant = try TestKeys.tenant()
        #expect(throws: KeyError.invalidHostName(name)) { _ = try tenant.issueHostKey(hostName: name, issuedAt: 0) }
    }

    @Test func keyFilesOfTheWrongKindAreNamed() throws {
        let tenant = try TestKeys.tenant()
        let host = try TestKeys.host(of: tenant)
        #expect(throws: KeyError.wrongKeyKind(expected: "skiff restore key", found: "skiff host key")) {
            _ = try WrappedRestoreKey.dearmor(host.armored)
        }
    }

    @Test func theHostKeyHoldsNothingThatDecrypts() throws {
        // The write-only property, at the key level: no secret in a host key file opens a
        // session key object, and none works as a data key.
        let tenant = try TestKeys.tenant()
        let host = try HostKey.decode(try TestKeys.host(of: tenant).encoded)
        let session = try WriteSession.start(config: host.config, tenant: host.tenant, writeSecrets: host.writeSecrets)
        let object = try ObjectEncoder(session: session).encode(kind: .chunk, children: [], body: Array("secret".utf8), compression: .none)
        let header = try ObjectHeader.parse(object.bytes)
        let secrets: [SecretBytes] = [host.signingKey.seed, host.writeSecrets.master, host.writeSecrets.chunkerKey,
                                       host.writeSecrets.identityKey, host.writeSecrets.boundaryKey]
        for secret in secrets {
            let asX25519 = try X25519PrivateKey(secret: secret)
            #expect(throws: KeyError.wrongTenantKey) {
                _ = try SessionKeyEnvelope.open(session.keyObject.bytes, address: session.keyAddress, with: asX25519)
            }
            #expect(throws: ObjectError.self) {
                _ = try ObjectDecoder(identityKey: nil).openBody(object.bytes, header: header, address: object.address, dataKey: secret)
            }
        }
        // The tenant's restore key does open it.
        let dataKey = try SessionKeyEnvelope.open(session.keyObject.bytes, address: session.keyAddress, with: tenant.decryptionKey)
        #expect(try ObjectDecoder(identityKey: nil).openBody(object.bytes, header: header, address: object.address, dataKey: dataKey) == Array("secret".utf8))
    }
}
