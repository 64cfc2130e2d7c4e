import Glibc

/// A system call failed. Carries errno, the operation and the path, for messages such as
/// "open /srv/data/x: Permission denied".
package struct SystemError: Error, Equatable, CustomStringConvertible {
    package var operation: String
    package var path: String?
    package var errno: Int32

    package init(_ operation: String, path: String? = nil, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    package var message: String { String(cString: strerror(errno)) }

    package var description: String {
        if let path { return "\(operation) \(path): \(message)" }
        return "\(operation): \(message)"
    }

    package var isNotFound: Bool { errno == ENOENT }
    package var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT || errno == EFBIG }
    package var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }
}

/// Repeats `body` while it fails with EINTR. `body` returns -1 and sets errno on failure.
@inline(__always)
package func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}
