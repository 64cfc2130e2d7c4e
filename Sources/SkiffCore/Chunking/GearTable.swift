/// The 256 64-bit values of the gear rolling hash, derived from the repository's secret
/// chunker key so that chunk boundaries do not fingerprint content.
///
/// Held behind a pointer: a Swift global or array is reached through checks on every access,
/// which costs the chunker half its speed (docs/FORMAT.md, "Chunking").
/// `@unchecked Sendable` is safe: the table is filled in `init` and never written again.
package final class GearTable: @unchecked Sendable {
    package let values: UnsafeMutablePointer<UInt64>

    /// gear[i] = first 8 bytes (little-endian) of HMAC-SHA-256(chunkerKey, "skiff gear v1" || i).
    package init(chunkerKey: SecretBytes) {
        values = .allocate(capacity: 256)
        let mac = HMACSHA256(key: chunkerKey)
        let label = Array("skiff gear v1".utf8)
        for i in 0..<256 {
            var index = UInt8(i)
            let digest = label.withUnsafeBytes { l in
                withUnsafeBytes(of: &index) { mac.mac(l, $0) }
            }
            values[i] = digest.prefix64
        }
    }

    deinit { values.deallocate() }

    package subscript(_ byte: UInt8) -> UInt64 { values[Int(byte)] }
}
