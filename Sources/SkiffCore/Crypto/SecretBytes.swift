import CLibCrypto

/// Key material in its own allocation, wiped with OPENSSL_cleanse when released.
///
/// `@unchecked Sendable` is safe: the bytes are written once in `init` and only read afterwards.
package final class SecretBytes: @unchecked Sendable, Equatable {
    private let storage: UnsafeMutableRawBufferPointer

    package init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = .allocate(byteCount: count, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        // If this throws, Swift runs deinit (every stored property is set), which wipes and
        // frees the storage.
        try initializer(storage)
    }

    package convenience init<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        self.init(count: bytes.count) { dst in
            _ = dst.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// `count` bytes from the operating system's CSPRNG (through RAND_bytes).
    package static func random(count: Int) -> SecretBytes {
        SecretBytes(count: count) { SecureRandom.fill($0) }
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    package var count: Int { storage.count }

    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    /// A copy as an ordinary array, for serialisation into an encrypted envelope.
    package var copiedBytes: [UInt8] { Array(UnsafeRawBufferPointer(storage)) }

    /// Constant-time comparison.
    package static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return CRYPTO_memcmp(lhs.storage.baseAddress, rhs.storage.baseAddress, lhs.count) == 0
    }
}
