/// A byte sequence does not follow the Skiff format.
///
/// Raised by every decoder in SkiffCore; `context` names what was being decoded so the
/// message is useful to an operator ("tree entry name", "seal signature").
package struct FormatError: Error, Equatable, CustomStringConvertible {
    package enum Reason: Equatable, Sendable {
        case truncated
        case invalid(String)
        case unsupported(String)
    }

    package var context: String
    package var reason: Reason

    package init(_ context: String, _ reason: Reason) {
        self.context = context
        self.reason = reason
    }

    package static func truncated(_ context: String) -> FormatError { .init(context, .truncated) }
    package static func invalid(_ context: String, _ detail: String) -> FormatError { .init(context, .invalid(detail)) }
    package static func unsupported(_ context: String, _ detail: String) -> FormatError {
        .init(context, .unsupported(detail))
    }

    package var description: String {
        switch reason {
        case .truncated: return "\(context): truncated"
        case .invalid(let detail): return "\(context): \(detail)"
        case .unsupported(let detail): return "\(context): unsupported \(detail)"
        }
    }
}
