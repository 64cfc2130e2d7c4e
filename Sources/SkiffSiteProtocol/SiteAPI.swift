import Foundation
import SkiffCore

/// The site protocol's version and JSON coding (docs/PROTOCOL.md); its endpoints are
/// `SiteOperation`, a client's requests `SiteRoute`.
package enum SiteAPI {
    package static let version = "1"


    /// JSON coding shared by server and client: dates as ISO 8601.
    package static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    package static func jsonDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// `POST …/missing` body.
package struct MissingQuery: Codable, Sendable {
    package var addresses: [String]
    package var identities: [String]

    package init(addresses: [String], identities: [String]) {
        self.addresses = addresses
        self.identities = identities
    }
}

/// `POST …/missing` answer.
package struct MissingAnswer: Codable, Sendable {
    package var missing: [String]
    package var known: [String: String]

    package init(missing: [String], known: [String: String]) {
        self.missing = missing
        self.known = known
    }
}

/// `GET …/objects` answer.
package struct ObjectListing: Codable, Sendable {
    package var objects: [String]
    package init(objects: [String]) { self.objects = objects }
}

/// One seal in a listing.
package struct SealIndexEntry: Sendable, Equatable, Codable {
    package var host: String
    package var sequence: UInt64
    /// Unix nanoseconds, as in the seal.
    package var time: Int64
    package var hash: String
    package var accepted: Date
    /// When retention retired it (absent for seals that restores may use).
    package var retired: Date?

    package init(host: String, sequence: UInt64, time: Int64, hash: String, accepted: Date, retired: Date? = nil) {
        self.host = host
        self.sequence = sequence
        self.time = time
        self.hash = hash
        self.accepted = accepted
        self.retired = retired
    }

    package var name: SealName? { Digest256(hex: hash).map { SealName(host: host, sequence: sequence, hash: $0) } }
}

/// `GET …/seals` answer.
package struct SealListing: Codable, Sendable {
    package var seals: [SealIndexEntry]
    package init(seals: [SealIndexEntry]) { self.seals = seals }
}

/// `PUT …/seals` answer.
package struct SealAcceptance: Codable, Sendable {
    package var seal: String
    package var accepted: Bool
    package init(seal: String, accepted: Bool) {
        self.seal = seal
        self.accepted = accepted
    }
}

/// Every refusal's body.
package struct ErrorBody: Codable, Sendable {
    package struct Detail: Codable, Sendable {
        package var code: String
        package var message: String
        package var addresses: [String]?
    }

    package var error: Detail

    package init(code: String, message: String, addresses: [String]?) {
        error = Detail(code: code, message: message, addresses: addresses)
    }
}

/// `GET /v1/health` answer.
package struct HealthBody: Codable, Sendable {
    package var status: String
    package var version: String
    package init(status: String, version: String) {
        self.status = status
        self.version = version
    }
}
