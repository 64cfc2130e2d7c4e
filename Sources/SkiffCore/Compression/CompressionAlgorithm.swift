/// Compression applied to an object's body before encryption, by the identifier written into
/// every object. Identifiers are never reused.
package enum CompressionAlgorithm: UInt8, CaseIterable, Codable, Sendable {
    case none = 0
    case lz4 = 1
}
