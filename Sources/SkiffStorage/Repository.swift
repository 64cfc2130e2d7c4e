import SkiffCore

/// A tenant's repository in one store: objects by address, seals by name, and the
/// informational config. The typed view that backup, restore, audit and sites share.
package struct Repository: Sendable {
    package let store: any ObjectStore
    /// Where the store is, for messages ("/srv/backup", "https://site-a:8443").
    package let location: String

    package init(store: any ObjectStore, location: String) {
        self.store = store
        self.location = location
    }

    /// The folder of a local repository (its lock and prune epoch live there), or nil when the
    /// store is not a folder on this machine (a site, a bucket, memory).
    package var localFolder: FileSystemStore? {
        (store as? PackedStore)?.inner as? FileSystemStore ?? store as? FileSystemStore
    }

    // MARK: Objects

    package func putObject(_ object: EncodedObject) async throws -> PutOutcome {
        try await store.put(.object(object.address), object.bytes)
    }

    /// The stored bytes of an object, unchecked (see `ObjectDecoder.checkAddress`).
    /// - Throws: `ObjectError.missing` when the store has no such object.
    package func objectBytes(_ address: ObjectAddress) async throws -> [UInt8] {
        do {
            return try await store.get(.object(address))
        } catch StoreError.notFound {
            throw ObjectError.missing(address)
        }
    }

    package func hasObject(_ address: ObjectAddress) async throws -> Bool {
        try await store.exists(.object(address))
    }

    /// Reads and parses only an object's clear header (not its body), to follow links
    /// without reading chunk data. The header is not authenticated by this call: a caller
    /// that needs the address checked reads the whole object.
    package func objectHeader(_ address: ObjectAddress) async throws -> ObjectHeader {
        let guess = ObjectHeader.encodedSize(childCount: 64) + AEADAlgorithm.tagCount
        var bytes: [UInt8]
        do { bytes = try await store.get(.object(address), byteRange: 0..<guess) } catch StoreError.notFound {
            throw ObjectError.missing(address)
        }
        if bytes.count >= ObjectHeader.fixedPrefixSize {
            let childCount = bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self))) }
            let needed = ObjectHeader.encodedSize(childCount: min(childCount, ObjectHeader.maxChildren)) + AEADAlgorithm.tagCount
            if needed > bytes.count && bytes.count == guess {
                do { bytes = try await store.get(.object(address), byteRange: 0..<needed) } catch StoreError.notFound {
                    throw ObjectError.missing(address)
                }
            }
        }
        do { return try ObjectHeader.parse(bytes) } catch let error as FormatError { throw ObjectError.malformed(address, error) }
    }

    /// `objectHeader` of many objects, read together (`ObjectStore.prefixes`): a header, or the
    /// error reading it gave (`ObjectError.missing`, `.malformed`), in the order of `addresses`.
    package func objectHeaders(_ addresses: [ObjectAddress]) async throws -> [Result<ObjectHeader, ObjectError>] {
        let guess = ObjectHeader.encodedSize(childCount: 64) + AEADAlgorithm.tagCount
        let prefixes = try await store.prefixes(of: addresses.map { StoreKey.object($0) }, length: guess)
        var out: [Result<ObjectHeader, ObjectError>] = []
        out.reserveCapacity(addresses.count)
        for (address, prefix) in zip(addresses, prefixes) {
            guard let prefix else {
                out.append(.failure(.missing(address)))
                continue
            }
            do {
                out.append(.success(try ObjectHeader.parse(prefix)))
            } catch {
                // More children than the guess holds, or damage: the single read decides.
                do { out.append(.success(try await objectHeader(address))) } catch let error as ObjectError { out.append(.failure(error)) }
            }
        }
        return out
    }

    /// What each object links to, in the order of `addresses`: from the store's index where it
    /// keeps them (`ObjectStore.knownLinks`), from the object's header otherwise
    /// (`objectHeaders`, which gives the errors: `ObjectError.missing`, `.malformed`).
    package func objectLinks(_ addresses: [ObjectAddress]) async throws -> [Result<ObjectLinks, ObjectError>] {
        let known = try await store.knownLinks(of: addresses)
        var out: [Result<ObjectLinks, ObjectError>] = []
        out.reserveCapacity(addresses.count)
        var unknown: [Int] = []
        for (position, (address, links)) in zip(addresses, known).enumerated() {
            switch links {
            case .known(let links): out.append(.success(links))
            case .absent: out.append(.failure(.missing(address)))
            case .unknown:
                out.append(.failure(.missing(address)))
                unknown.append(position)
            }
        }
        guard !unknown.isEmpty else { return out }
        for (position, header) in zip(unknown, try await objectHeaders(unknown.map { addresses[$0] })) {
            out[position] = header.map(ObjectLinks.init)
        }
        return out
    }

    /// Every object address in the store, page by page.
    package func objectAddresses() -> AsyncCompactMapSequence<StoreListing, ObjectAddress> {
        store.keys(prefix: StoreKey.objectsPrefix).compactMap { $0.objectAddress }
    }

    // MARK: Seals

    package func putSeal(_ seal: Seal) async throws -> PutOutcome {
        try await store.put(.seal(seal.name), seal.encoded)
    }

    /// Names of the seals of `host`, or of every host, in (host, sequence) order.
    package func sealNames(host: String? = nil) async throws -> [SealName] {
        try await names(under: StoreKey.sealsPrefix, host: host, \.sealName)
    }

    /// Names of the seals that retention retired (kept for their chain, not for restores).
    package func retiredSealNames(host: String? = nil) async throws -> [SealName] {
        try await names(under: StoreKey.retiredPrefix, host: host, \.retiredSealName)
    }

    private func names(under folder: String, host: String?, _ name: (StoreKey) -> SealName?) async throws -> [SealName] {
        let prefix = host.map { "\(folder)\($0)/" } ?? folder
        var names: [SealName] = []
        for try await key in store.keys(prefix: prefix) {
            if let name = name(key) { names.append(name) }
        }
        return names.sorted()
    }

    /// The hosts that have at least one seal.
    package func hosts() async throws -> [String] {
        Array(Set(try await sealNames().map(\.host))).sorted()
    }

    /// Reads and decodes a seal, checking that its content is what its name says.
    /// Signatures are not checked here (see `Seal.verify(by:)`).
    /// - Throws: `SealError.malformed`, `SealError.misfiled`, `StoreError.notFound`.
    package func seal(named name: SealName, retired: Bool = false) async throws -> Seal {
        let bytes = try await store.get(retired ? .retiredSeal(name) : .seal(name))
        let seal: Seal
        do { seal = try Seal.decode(bytes) } catch let error as FormatError { throw SealError.malformed(name, error) }
        guard seal.name == name else { throw SealError.misfiled(expected: name, found: seal.name) }
        return seal
    }

    // MARK: Config

    /// Writes the tenant's public key as the store's config, unless one is there.
    /// - Throws: `KeyError.tenantMismatch` when the store belongs to another tenant.
    package func initialize(with tenant: TenantPublicKey) async throws {
        let outcome = try await store.put(.config, Array(tenant.armored.utf8))
        if outcome == .alreadyPresent {
            let existing = try await readConfig()
            guard existing.tenant == tenant.tenant else {
                throw KeyError.tenantMismatch(expected: tenant.tenant, found: existing.tenant)
            }
        }
        try await store.flush()
    }

    /// The tenant public key recorded in the store. Informational: the host key and the
    /// restore key carry the trusted copies.
    /// - Throws: `StoreError.notFound` when the store was never initialised.
    package func readConfig() async throws -> TenantPublicKey {
        let bytes = try await store.get(.config)
        return try TenantPublicKey.dearmor(String(decoding: bytes, as: UTF8.self))
    }
}
