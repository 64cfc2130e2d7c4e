import SkiffCore

/// One request of the site protocol as a client addresses it: the operation (its method and
/// path pattern, `SiteOperation`, the same the server routes by) with the pattern's parameters
/// filled in, and the query. Built only from typed values, so a client cannot send a path to
/// the wrong method or misspell one.
package struct SiteRoute: Sendable, Equatable, CustomStringConvertible {
    package let operation: SiteOperation
    /// The path with its query, percent-encoded ("/v1/tenants/…/seals?host=db1&limit=100").
    package let target: String

    /// The route of `operation`. Every parameter its pattern names must be given (a missing
    /// one is a programming error); parameters it does not name are ignored.
    /// - Parameters:
    ///   - seal: fills `{host}` and `{file}`.
    ///   - query: name and value pairs, in order; values are percent-encoded.
    package init(_ operation: SiteOperation, tenant: TenantID? = nil, address: ObjectAddress? = nil, seal: SealName? = nil,
                 query: [(String, String)] = []) {
        var path = operation.pattern
        let values: [(String, String?)] = [
            ("{tenant}", tenant?.hex), ("{address}", address?.hex), ("{host}", seal?.host), ("{file}", seal?.fileName),
        ]
        for (placeholder, value) in values where path.contains(placeholder) {
            guard let value else { preconditionFailure("\(operation) needs \(placeholder)") }
            path = path.replacingOccurrences(of: placeholder, with: PercentEncoding.encode(value))
        }
        if !query.isEmpty {
            path += "?" + query.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        }
        self.operation = operation
        target = path
    }

    /// The HTTP method ("GET", "PUT", …).
    package var method: String { operation.method }

    package var description: String { "\(method) \(target)" }
}
