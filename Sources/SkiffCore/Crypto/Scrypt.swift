import CLibCrypto

/// Parameters of scrypt, the memory-hard function that turns a passphrase into a wrapping key.
package struct ScryptParameters: Codable, Equatable, Sendable {
    /// log2 of the CPU/memory cost N.
    package var logN: UInt8
    package var r: UInt32
    package var p: UInt32

    package init(logN: UInt8, r: UInt32 = 8, p: UInt32 = 1) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    /// N = 2^17, r = 8: 128 MiB of memory and about half a second on this machine.
    package static let standard = ScryptParameters(logN: 17)

    /// Memory scrypt needs: 128 * r * N bytes.
    package var memoryBytes: UInt64 { 128 * UInt64(r) << UInt64(logN) }

    package func validate() throws {
        guard (10...22).contains(logN), (1...32).contains(r), (1...16).contains(p) else {
            throw CryptoError.invalidKey("scrypt parameters out of range (logN \(logN), r \(r), p \(p))")
        }
    }
}

package enum Scrypt {
    package static func deriveKey(
        passphrase: [UInt8], salt: [UInt8], parameters: ScryptParameters, count: Int = 32
    ) throws -> SecretBytes {
        try parameters.validate()
        return try SecretBytes(count: count) { out in
            let rc = passphrase.withUnsafeBufferPointer { pass in
                salt.withUnsafeBufferPointer { saltPtr in
                    pass.withMemoryRebound(to: CChar.self) { passChars in
                        EVP_PBE_scrypt(
                            passChars.baseAddress, passChars.count,
                            saltPtr.baseAddress, saltPtr.count,
                            UInt64(1) << UInt64(parameters.logN), UInt64(parameters.r), UInt64(parameters.p),
                            parameters.memoryBytes + (1 << 20),
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
                    }
                }
            }
            guard rc == 1 else { throw CryptoError.fromLibrary("scrypt") }
        }
    }
}
