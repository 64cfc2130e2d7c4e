import Glibc

/// A filesystem path as the kernel sees it: bytes, not necessarily UTF-8, without NUL.
package struct RawPath: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    package var bytes: [UInt8]

    package init(bytes: [UInt8]) {
        precondition(!bytes.contains(0), "paths cannot contain NUL")
        self.bytes = bytes
    }

    package init(_ string: String) { self.init(bytes: Array(string.utf8)) }
    package init(stringLiteral value: String) { self.init(value) }

    package var isAbsolute: Bool { bytes.first == 0x2f }

    /// This path with `component` (one name, no '/') appended.
    package func appending(_ component: [UInt8]) -> RawPath {
        if bytes.isEmpty { return RawPath(bytes: component) }
        if bytes.last == 0x2f { return RawPath(bytes: bytes + component) }
        return RawPath(bytes: bytes + [0x2f] + component)
    }

    package func appending(_ component: String) -> RawPath { appending(Array(component.utf8)) }

    /// The path's components, without empty ones ("/a//b/" gives ["a", "b"]).
    package var components: [[UInt8]] {
        bytes.split(separator: 0x2f, omittingEmptySubsequences: true).map(Array.init)
    }

    package var lastComponent: [UInt8] { components.last ?? [] }

    package var parent: RawPath {
        var parts = components
        guard !parts.isEmpty else { return self }
        parts.removeLast()
        let joined = parts.map { $0 }.joined(separator: [0x2f])
        return RawPath(bytes: (isAbsolute ? [0x2f] : []) + joined)
    }

    /// Lexical normalisation: removes ".", empty components and resolves ".." textually.
    package var normalized: RawPath {
        var out: [[UInt8]] = []
        for part in components {
            if part == [0x2e] { continue }
            if part == [0x2e, 0x2e] {
                if !out.isEmpty { out.removeLast() } else if !isAbsolute { out.append(part) }
                continue
            }
            out.append(part)
        }
        let joined = Array(out.joined(separator: [0x2f]))
        if isAbsolute { return RawPath(bytes: [0x2f] + joined) }
        return RawPath(bytes: joined.isEmpty ? [0x2e] : joined)
    }

    package func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// For messages: invalid UTF-8 shown with replacement characters.
    package var description: String { String(decoding: bytes, as: UTF8.self) }

    package static func < (lhs: RawPath, rhs: RawPath) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// The current working directory.
    package static func currentDirectory() throws -> RawPath {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw SystemError("getcwd") }
        return RawPath(bytes: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) })
    }

    /// This path made absolute against the current directory, then normalised.
    package func absolute() throws -> RawPath {
        if isAbsolute { return normalized }
        return RawPath(bytes: try Self.currentDirectory().bytes + [0x2f] + bytes).normalized
    }
}
