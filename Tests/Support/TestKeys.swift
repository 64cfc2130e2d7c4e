import Foundation
import SkiffCore

/// Keys for tests: real keys, with a cheap scrypt cost so tests stay fast.
package enum TestKeys {
    package static let passphrase = Array("test passphrase".utf8)
    package static let fastScrypt = ScryptParameters(logN: 10)

    package static func tenant(aead: AEADAlgorithm = .aes256GCM) throws -> RestoreKey {
        try RestoreKey.generate(config: RepositoryConfig(tenant: .generate(), aead: aead))
    }

    package static func host(_ name: String = "web1", of tenant: RestoreKey) throws -> HostKey {
        try tenant.issueHostKey(hostName: name, issuedAt: Int64(Date().timeIntervalSince1970))
    }
}
