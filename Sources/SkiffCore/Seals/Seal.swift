/// A host's signed statement that a snapshot exists: host, time, root object, the previous
/// seal of the same host, and counts. Readable and verifiable without any decryption key.
///
/// Layout (integers little-endian):
///
///     "SKFS" || u8 version (1) || u8 hash algorithm (1) || u8 signature algorithm (1 = Ed25519)
///     || u8 reserved (0) || tenant id (16) || host certificate || u64 sequence (from 1)
///     || i64 time (Unix ns) || root address (32) || previous seal hash (32, zero for the first)
///     || varint files || varint directories || varint logical bytes || varint added objects
///     || varint added stored bytes || Ed25519 signature (64)
///
/// The signature covers "skiff seal v1\0" followed by every byte before it. A seal's hash is
/// the SHA-256 of all its bytes; the next seal names it, forming a tamper-evident chain.
package struct Seal: Equatable, Sendable {
    package static let magic: [UInt8] = Array("SKFS".utf8)
    static let signatureDomain = Array("skiff seal v1\0".utf8)
    package static let maxEncodedSize = 1024

    package var tenant: TenantID
    package var certificate: HostCertificate
    package var sequence: UInt64
    package var time: Timestamp
    package var root: ObjectAddress
    package var previous: Digest256
    package var counts: SealCounts
    package var signature: [UInt8]

    package var hostName: String { certificate.hostName }

    /// Creates and signs the seal that follows `previous` (nil for a host's first seal). Its
    /// time is never before the previous seal's, even when the clock was set back in between
    /// (sites refuse a chain that goes back in time: `SealPlausibility`).
    package static func make(
        hostKey: HostKey, previous: Seal?, time: Timestamp, root: ObjectAddress, counts: SealCounts
    ) throws -> Seal {
        var seal = Seal(
            tenant: hostKey.tenant.tenant, certificate: hostKey.certificate,
            sequence: (previous?.sequence ?? 0) + 1, time: max(time, previous?.time ?? time), root: root,
            previous: previous?.hash ?? .zero, counts: counts, signature: [])
        seal.signature = try hostKey.signingKey.signature(for: signedMessage(seal.unsignedBytes))
        return seal
    }

    /// What the signature covers: the domain string, then every byte before the signature.
    package static func signedMessage(_ unsigned: [UInt8]) -> [UInt8] { signatureDomain + unsigned }

    /// The encoded seal without its signature.
    package var unsignedBytes: [UInt8] {
        var writer = ByteWriter(capacity: 400)
        writer.raw(Self.magic)
        writer.u8(1)
        writer.u8(HashAlgorithm.sha256.rawValue)
        writer.u8(1)
        writer.u8(0)
        writer.raw(tenant.bytes)
        certificate.write(into: &writer)
        writer.u64(sequence)
        writer.i64(time.unixNanoseconds)
        writer.digest(root.digest)
        writer.digest(previous)
        writer.varint(counts.files)
        writer.varint(counts.directories)
        writer.varint(counts.logicalBytes)
        writer.varint(counts.addedObjects)
        writer.varint(counts.addedBytes)
        return writer.bytes
    }

    package var encoded: [UInt8] { unsignedBytes + signature }

    /// SHA-256 of the encoded seal.
    package var hash: Digest256 { SHA256Hasher.digest(encoded) }

    /// Parses a seal. Does not verify it: see `verify(by:)`.
    package static func decode(_ bytes: [UInt8]) throws -> Seal {
        guard bytes.count <= maxEncodedSize else { throw FormatError.invalid("seal", "\(bytes.count) bytes is too large") }
        var reader = ByteReader(bytes, context: "seal")
        guard try Array(reader.raw(4)) == magic else { throw FormatError.invalid("seal", "bad magic") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("seal", "version") }
        guard try reader.u8() == HashAlgorithm.sha256.rawValue else { throw FormatError.unsupported("seal", "hash algorithm") }
        guard try reader.u8() == 1 else { throw FormatError.unsupported("seal", "signature algorithm") }
        guard try reader.u8() == 0 else { throw FormatError.invalid("seal", "reserved byte not zero") }
        let tenant = try TenantID(bytes: Array(reader.raw(16)))
        let certificate = try HostCertificate.read(from: &reader)
        let sequence = try reader.u64()
        guard sequence >= 1 else { throw FormatError.invalid("seal", "sequence 0") }
        let time = Timestamp(unixNanoseconds: try reader.i64())
        let root = ObjectAddress(try reader.digest())
        let previous = try reader.digest()
        guard (sequence == 1) == previous.isZero else {
            throw FormatError.invalid("seal", sequence == 1 ? "first seal names a previous seal" : "previous seal hash missing")
        }
        let counts = SealCounts(
            files: try reader.varint(), directories: try reader.varint(), logicalBytes: try reader.varint(),
            addedObjects: try reader.varint(), addedBytes: try reader.varint())
        let signature = Array(try reader.raw(64))
        try reader.expectEnd()
        return Seal(tenant: tenant, certificate: certificate, sequence: sequence, time: time, root: root,
                    previous: previous, counts: counts, signature: signature)
    }

    /// Checks that the signer is a host certified by `tenantKey` and that the signature covers
    /// these exact bytes. Throws `SealError`.
    package func verify(by tenantKey: TenantPublicKey) throws {
        guard tenant == tenantKey.tenant else { throw SealError.wrongTenant(self.name, tenant) }
        do { try certificate.verify(by: tenantKey) } catch { throw SealError.unknownSigner(self.name, certificate.publicKey.fingerprint) }
        try verifySignature()
    }

    /// Checks the signature against the key in the seal's own certificate (not that the key
    /// is trusted: sites check it against their registry, restores against the tenant key).
    package func verifySignature() throws {
        guard certificate.publicKey.isValidSignature(signature, for: Self.signedMessage(unsignedBytes)) else {
            throw SealError.badSignature(self.name)
        }
    }

    /// The name under which stores keep the seal: sequence (16 hex digits) and hash.
    package var name: SealName { SealName(host: hostName, sequence: sequence, hash: hash) }
}

/// Counts in the clear in a seal. Sites and auditors can read them; see the threat model.
package struct SealCounts: Equatable, Sendable, Codable {
    package var files: UInt64
    package var directories: UInt64
    package var logicalBytes: UInt64
    /// Objects and stored bytes this snapshot added to the repository.
    package var addedObjects: UInt64
    package var addedBytes: UInt64

    package init(files: UInt64 = 0, directories: UInt64 = 0, logicalBytes: UInt64 = 0, addedObjects: UInt64 = 0, addedBytes: UInt64 = 0) {
        self.files = files
        self.directories = directories
        self.logicalBytes = logicalBytes
        self.addedObjects = addedObjects
        self.addedBytes = addedBytes
    }
}
