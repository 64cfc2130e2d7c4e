/// The parameters every writer of a repository must share: its tenant, algorithms and
/// chunking. Stored in the host key and restore key (trusted copies) and, for information
/// only, in the store's `config` file.
package struct RepositoryConfig: Codable, Equatable, Sendable {
    /// The repository format's version (docs/FORMAT.md): 2 since objects live in packs (§7.1).
    /// Version 1 kept one file or key per object; there were no deployments, so no migration.
    package static let currentVersion = 2

    package var version: Int
    package var tenant: TenantID
    package var hashAlgorithm: HashAlgorithm
    package var aead: AEADAlgorithm
    package var compression: CompressionAlgorithm
    package var chunker: ChunkerParameters
    /// Chunk size for page-structured files (SQLite databases): fixed, aligned pieces.
    package var pagedChunkSize: Int

    package static let defaultPagedChunkSize = 32 << 10
    /// The AEAD of new tenants when none is chosen (`skiff init`, `skiff key create-tenant`).
    package static let defaultAEAD = AEADAlgorithm.aes256GCM

    package init(
        tenant: TenantID, aead: AEADAlgorithm = defaultAEAD, compression: CompressionAlgorithm = .lz4,
        chunker: ChunkerParameters = .standard, pagedChunkSize: Int = defaultPagedChunkSize
    ) {
        version = Self.currentVersion
        self.tenant = tenant
        hashAlgorithm = .sha256
        self.aead = aead
        self.compression = compression
        self.chunker = chunker
        self.pagedChunkSize = pagedChunkSize
    }

    package func validate() throws {
        guard version == Self.currentVersion else { throw FormatError.unsupported("repository config", "version \(version)") }
        try chunker.validate()
        guard pagedChunkSize.nonzeroBitCount == 1, (4096...(1 << 20)).contains(pagedChunkSize) else {
            throw FormatError.invalid("repository config", "paged chunk size must be a power of two from 4 KiB to 1 MiB")
        }
    }

    package func write(into writer: inout ByteWriter) {
        writer.u8(UInt8(version))
        writer.raw(tenant.bytes)
        writer.u8(hashAlgorithm.rawValue)
        writer.u8(aead.rawValue)
        writer.u8(compression.rawValue)
        writer.varint(chunker.minSize)
        writer.varint(chunker.averageSize)
        writer.varint(chunker.maxSize)
        writer.varint(pagedChunkSize)
    }

    package static func read(from reader: inout ByteReader) throws -> RepositoryConfig {
        let version = Int(try reader.u8())
        guard version == currentVersion else { throw FormatError.unsupported("repository config", "version \(version)") }
        let tenant = try TenantID(bytes: Array(reader.raw(16)))
        guard let hash = HashAlgorithm(rawValue: try reader.u8()) else { throw FormatError.unsupported("repository config", "hash algorithm") }
        guard let aead = AEADAlgorithm(rawValue: try reader.u8()) else { throw FormatError.unsupported("repository config", "AEAD algorithm") }
        guard let compression = CompressionAlgorithm(rawValue: try reader.u8()) else {
            throw FormatError.unsupported("repository config", "compression")
        }
        let limit = 1 << 30
        let chunker = ChunkerParameters(
            minSize: try reader.count(limit: limit), averageSize: try reader.count(limit: limit), maxSize: try reader.count(limit: limit))
        var config = RepositoryConfig(tenant: tenant, aead: aead, compression: compression, chunker: chunker,
                                      pagedChunkSize: try reader.count(limit: limit))
        config.hashAlgorithm = hash
        try config.validate()
        return config
    }

    /// The chunker for ordinary files, keyed by the repository's chunker key.
    package func contentDefinedChunker(secrets: WriteSecrets) throws -> ContentDefinedChunker {
        try ContentDefinedChunker(parameters: chunker, gear: GearTable(chunkerKey: secrets.chunkerKey))
    }
}
