import CLibCrypto

/// A cryptographic operation failed or did not verify.
package enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An AEAD tag, MAC or signature did not verify: wrong key, or tampered bytes.
    case authenticationFailed(String)
    /// libcrypto reported an internal failure (allocation, unavailable algorithm).
    case library(String)
    case invalidKey(String)

    package var description: String {
        switch self {
        case .authenticationFailed(let what): return "authentication failed: \(what)"
        case .library(let what): return "libcrypto: \(what)"
        case .invalidKey(let what): return "invalid key: \(what)"
        }
    }

    /// Drains libcrypto's thread-local error queue into a message.
    static func fromLibrary(_ operation: String) -> CryptoError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return .library(messages.isEmpty ? operation : "\(operation): \(messages.joined(separator: "; "))")
    }
}
