import CLibCrypto

/// HKDF-SHA-256 (RFC 5869).
package enum HKDF {
    package static func sha256(
        inputKey: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8], outputCount: Int
    ) throws -> SecretBytes {
        try SecretBytes(count: outputCount) { out in
            let rc = salt.withUnsafeBufferPointer { saltPtr in
                info.withUnsafeBufferPointer { infoPtr in
                    skiff_hkdf(
                        "SHA256",
                        inputKey.baseAddress?.assumingMemoryBound(to: UInt8.self), inputKey.count,
                        saltPtr.baseAddress, saltPtr.count,
                        infoPtr.baseAddress, infoPtr.count,
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
                }
            }
            guard rc == 1 else { throw CryptoError.fromLibrary("HKDF") }
        }
    }

    /// A subkey of `master` for one purpose, named by `label` (domain separation).
    package static func subkey(of master: SecretBytes, label: String, count: Int = 32) throws -> SecretBytes {
        try master.withUnsafeBytes { try sha256(inputKey: $0, salt: [], info: Array(label.utf8), outputCount: count) }
    }
}
