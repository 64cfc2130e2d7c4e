/// Checks host names: they appear in seal names and storage paths.
package enum HostName {
    /// 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
    package static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { throw KeyError.invalidHostName(name) }
        func allowed(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        guard bytes.allSatisfy(allowed), bytes[0] != 0x2e, bytes[0] != 0x5f, bytes[0] != 0x2d else {
            throw KeyError.invalidHostName(name)
        }
    }
}
