import Foundation
import Glibc
import SkiffConfig
import SkiffCore
import SkiffSystem

/// Reading and writing key files, and their default places.
enum KeyFiles {
    /// The host key: --host-key, else $SKIFF_HOST_KEY, else `HostDefaults.hostKey`
    /// (/etc/skiff/host.key for root, ~/.config/skiff/host.key for others).
    static func hostKeyPath(_ given: String?) -> String {
        if let given { return given }
        if let env = getenv("SKIFF_HOST_KEY") { return String(cString: env) }
        return HostDefaults.hostKey
    }

    /// The restore key: --restore-key, else $SKIFF_RESTORE_KEY. It has no default place:
    /// it belongs offline, not on the host.
    static func restoreKeyPath(_ given: String?) -> String? {
        if let given { return given }
        if let env = getenv("SKIFF_RESTORE_KEY") { return String(cString: env) }
        return nil
    }

    static func readText(_ path: String, what: String) throws -> String {
        do {
            return String(decoding: try FileIO.readFile(RawPath(path), limit: 1 << 20), as: UTF8.self)
        } catch let error as SystemError {
            throw CommandFailure(.keyProblem, "cannot read \(what) \(path): \(error.message)")
        }
    }

    static func hostKey(_ given: String?) throws -> HostKey {
        let path = hostKeyPath(given)
        return try decoding(path) { try HostKey.dearmor(try readText(path, what: "host key")) }
    }

    static func wrappedRestoreKey(_ given: String?) throws -> WrappedRestoreKey {
        guard let path = restoreKeyPath(given) else {
            throw CommandFailure(.keyProblem, "this needs the tenant's restore key: give --restore-key FILE or set SKIFF_RESTORE_KEY")
        }
        return try decoding(path) { try WrappedRestoreKey.dearmor(try readText(path, what: "restore key")) }
    }

    static func restoreKey(_ given: String?, passphrase: PassphraseSource) throws -> RestoreKey {
        let wrapped = try wrappedRestoreKey(given)
        return try wrapped.unwrap(passphrase: try passphrase.read(prompt: "Passphrase for the restore key of tenant \(wrapped.tenant): "))
    }

    /// The tenant public key from any Skiff key file: tenant public key, restore key (its
    /// public part, no passphrase needed) or host key.
    static func tenantPublicKey(path: String) throws -> TenantPublicKey {
        let text = try readText(path, what: "key file")
        return try decoding(path) {
            switch KeyArmor.label(of: text) {
            case TenantPublicKey.armorLabel: return try TenantPublicKey.dearmor(text)
            case WrappedRestoreKey.armorLabel: return try WrappedRestoreKey.dearmor(text).publicKey
            case HostKey.armorLabel: return try HostKey.dearmor(text).tenant
            default: throw CommandFailure(.keyProblem, "\(path) is not a Skiff key file")
            }
        }
    }

    private static func decoding<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FormatError {
            throw CommandFailure(.keyProblem, "\(path): damaged key file (\(error))")
        } catch let error as KeyError {
            if case .wrongKeyKind = error { throw CommandFailure(.keyProblem, "\(path): \(error)") }
            throw error
        }
    }

    /// Writes a new key file with mode 0600, refusing to replace an existing one.
    static func writeNew(_ text: String, to path: String) throws {
        let file = RawPath(path)
        guard !FileIO.exists(file) else {
            throw CommandFailure(.usage, "\(path) already exists; refusing to overwrite a key")
        }
        do {
            try FileIO.makeDirectories(file.parent, mode: 0o700)
            try FileIO.writeFileAtomically(file, Array(text.utf8), mode: 0o600)
        } catch let error as SystemError {
            throw CommandFailure(.failure, "cannot write \(path): \(error.message)")
        }
    }
}
