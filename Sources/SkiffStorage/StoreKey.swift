import SkiffCore

/// A name in a store: components of [A-Za-z0-9._-] joined by '/', no empty, "." or ".."
/// components, at most 512 bytes. Every store (filesystem, S3, site) accepts exactly these.
///
/// The layout is fixed by docs/FORMAT.md, "Repository layout":
/// `config`, `objects/<2 hex>/<64 hex>`, `seals/<host>/<16 hex sequence>-<64 hex hash>`, and at
/// sites `retired/<host>/<same file name>` for seals retention retired, `chains/<host>/<16 hex
/// sequence>` for sequence claims, `tenant` and `hosts/<host>/<fingerprint>` for the registry's
/// records of the tenant and its hosts.
package struct StoreKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let path: String

    package init(_ path: String) throws {
        guard Self.isValid(path) else { throw StoreError.invalidKey(path) }
        self.path = path
    }

    private init(unchecked path: String) { self.path = path }

    package static func isValid(_ path: String) -> Bool {
        let utf8 = Array(path.utf8)
        guard !utf8.isEmpty, utf8.count <= 512 else { return false }
        for component in utf8.split(separator: 0x2f, omittingEmptySubsequences: false) {
            guard !component.isEmpty, component != [0x2e], component != [0x2e, 0x2e] else { return false }
            for c in component {
                let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                    || c == 0x2e || c == 0x5f || c == 0x2d
                guard ok else { return false }
            }
        }
        return true
    }

    package static let config = StoreKey(unchecked: "config")
    package static let objectsPrefix = "objects/"
    package static let sealsPrefix = "seals/"
    package static let retiredPrefix = "retired/"

    package static func object(_ address: ObjectAddress) -> StoreKey {
        let hex = address.hex
        return StoreKey(unchecked: "objects/\(hex.prefix(2))/\(hex)")
    }

    package static func seal(_ name: SealName) -> StoreKey {
        StoreKey(unchecked: "seals/\(name.host)/\(name.fileName)")
    }

    /// Where a site keeps a seal that retention retired: same file name, `retired/` folder.
    package static func retiredSeal(_ name: SealName) -> StoreKey {
        StoreKey(unchecked: "retired/\(name.host)/\(name.fileName)")
    }

    /// At sites: the claim of a host's sequence number, holding the hash of the one seal that
    /// has it. Created only by conditional put, so two site processes sharing a bucket can never
    /// accept two different seals with one sequence (docs/FORMAT.md, rule S6).
    package static func chainClaim(host: String, sequence: UInt64) -> StoreKey {
        StoreKey(unchecked: "chains/\(host)/\(SealName.filePrefix(sequence: sequence).dropLast())")
    }

    /// At sites: the tenant's own record (its name and public key), so that a site whose
    /// registry was lost can rebuild it from the store alone (`skiff-site reindex`).
    package static let tenantRecord = StoreKey(unchecked: "tenant")

    /// At sites: a registered host's certificate, one key per certificate (a re-keyed host has
    /// several; the newest issued counts), for the same purpose.
    package static func hostCertificate(host: String, fingerprint: String) -> StoreKey {
        StoreKey(unchecked: "\(hostsPrefix)\(host)/\(fingerprint)")
    }

    package static let hostsPrefix = "hosts/"

    /// The object address if this key is an object key.
    /// Read on every object access (a restore asks it tens of thousands of times): compares
    /// bytes at fixed offsets of `objects/<2 hex>/<64 hex>` instead of splitting the path.
    package var objectAddress: ObjectAddress? {
        let utf8 = path.utf8
        guard utf8.count == 75, path.hasPrefix(Self.objectsPrefix) else { return nil }
        let fan = utf8.index(utf8.startIndex, offsetBy: 8)
        let name = utf8.index(fan, offsetBy: 3)
        guard utf8[utf8.index(fan, offsetBy: 2)] == 0x2f, utf8[fan..<utf8.index(fan, offsetBy: 2)].elementsEqual(utf8[name..<utf8.index(name, offsetBy: 2)]) else {
            return nil
        }
        return ObjectAddress(hex: path[name...])
    }

    /// The seal name if this key is a seal key.
    package var sealName: SealName? { name(under: Self.sealsPrefix) }

    /// The seal name if this key is a retired seal's key.
    package var retiredSealName: SealName? { name(under: Self.retiredPrefix) }

    private func name(under prefix: String) -> SealName? {
        guard path.hasPrefix(prefix) else { return nil }
        let parts = path.split(separator: "/")
        guard parts.count == 3 else { return nil }
        return SealName(host: String(parts[1]), fileName: parts[2])
    }

    package var description: String { path }

    package static func < (lhs: StoreKey, rhs: StoreKey) -> Bool { lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8) }
}
