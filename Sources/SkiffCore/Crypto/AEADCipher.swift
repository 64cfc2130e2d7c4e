import CLibCrypto

/// AES-256-GCM or ChaCha20-Poly1305 over contiguous buffers, with one reusable context.
///
/// Not `Sendable`: each task that encrypts owns its own cipher. Consecutive calls with the
/// same algorithm and key only reset the nonce, skipping the key schedule.
package final class AEADCipher {
    private let context: OpaquePointer
    private var lastAlgorithm: AEADAlgorithm?
    /// Held strongly so that its address cannot be reused by another key while cached.
    private var lastKey: SecretBytes?
    private var lastDirection: Int32 = -1

    package init() {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed: out of memory") }
        context = ctx
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    private func prepare(_ algorithm: AEADAlgorithm, key: SecretBytes, nonce: UnsafeRawBufferPointer, encrypt: Bool) throws {
        precondition(nonce.count == AEADAlgorithm.nonceCount, "AEAD nonce must be 12 bytes")
        precondition(key.count == AEADAlgorithm.keyCount, "AEAD key must be 32 bytes")
        let direction: Int32 = encrypt ? 1 : 0
        let iv = nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let sameKey = lastAlgorithm == algorithm && lastKey === key && lastDirection == direction
        let rc: Int32
        if sameKey {
            rc = encrypt
                ? EVP_EncryptInit_ex2(context, nil, nil, iv, nil)
                : EVP_DecryptInit_ex2(context, nil, nil, iv, nil)
        } else {
            rc = key.withUnsafeBytes { raw in
                let k = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                return encrypt
                    ? EVP_EncryptInit_ex2(context, algorithm.evpCipher, k, iv, nil)
                    : EVP_DecryptInit_ex2(context, algorithm.evpCipher, k, iv, nil)
            }
        }
        guard rc == 1 else {
            lastAlgorithm = nil
            lastKey = nil
            throw CryptoError.fromLibrary("\(algorithm) init")
        }
        lastAlgorithm = algorithm
        lastKey = key
        lastDirection = direction
    }

    private func feedAAD(_ aad: UnsafeRawBufferPointer) throws {
        guard !aad.isEmpty else { return }
        var outLength: Int32 = 0
        guard EVP_CipherUpdate(context, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1 else {
            throw CryptoError.fromLibrary("AEAD associated data")
        }
    }

    /// Encrypts `plaintext` into `output` as ciphertext followed by the 16-byte tag.
    /// - Returns: bytes written, always `plaintext.count + 16`.
    /// - Precondition: `output.count >= plaintext.count + 16`; inputs under 2 GiB.
    @discardableResult
    package func seal(
        _ algorithm: AEADAlgorithm, key: SecretBytes, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        precondition(output.count >= plaintext.count + AEADAlgorithm.tagCount, "AEAD output buffer too small")
        precondition(plaintext.count < Int(Int32.max), "AEAD input over 2 GiB")
        try prepare(algorithm, key: key, nonce: nonce, encrypt: true)
        try feedAAD(associatedData)
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(context, out, &written, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1 else {
                throw CryptoError.fromLibrary("AEAD encrypt")
            }
        }
        var finalLength: Int32 = 0
        guard EVP_EncryptFinal_ex(context, out + Int(written), &finalLength) == 1 else {
            throw CryptoError.fromLibrary("AEAD encrypt final")
        }
        let ciphertextLength = Int(written + finalLength)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(AEADAlgorithm.tagCount), out + ciphertextLength) == 1 else {
            throw CryptoError.fromLibrary("AEAD tag")
        }
        return ciphertextLength + AEADAlgorithm.tagCount
    }

    /// Decrypts ciphertext-and-tag into `output` and verifies the tag.
    /// - Returns: plaintext bytes written (`sealed.count - 16`).
    /// - Throws: `CryptoError.authenticationFailed` when the key, nonce, associated data or bytes
    ///   differ from what was sealed. `output` then holds garbage that must not be used.
    package func open(
        _ algorithm: AEADAlgorithm, key: SecretBytes, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String
    ) throws -> Int {
        guard sealed.count >= AEADAlgorithm.tagCount else { throw CryptoError.authenticationFailed(what()) }
        let ciphertextLength = sealed.count - AEADAlgorithm.tagCount
        precondition(output.count >= ciphertextLength, "AEAD output buffer too small")
        precondition(sealed.count < Int(Int32.max), "AEAD input over 2 GiB")
        try prepare(algorithm, key: key, nonce: nonce, encrypt: false)
        try feedAAD(associatedData)
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        if ciphertextLength > 0 {
            guard EVP_DecryptUpdate(context, out, &written, input, Int32(ciphertextLength)) == 1 else {
                throw CryptoError.authenticationFailed(what())
            }
        }
        var tag = [UInt8](UnsafeRawBufferPointer(rebasing: sealed[ciphertextLength...]))
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(AEADAlgorithm.tagCount), &tag) == 1 else {
            throw CryptoError.fromLibrary("AEAD set tag")
        }
        var finalLength: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 32)
        let ok = scratch.withUnsafeMutableBufferPointer { s in
            EVP_DecryptFinal_ex(context, out.map { $0 + Int(written) } ?? s.baseAddress!, &finalLength)
        }
        ERR_clear_error()
        guard ok == 1 else { throw CryptoError.authenticationFailed(what()) }
        return Int(written + finalLength)
    }
}
