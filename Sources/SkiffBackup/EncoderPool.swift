import SkiffCore
import Synchronization

/// Object encoders for concurrent tasks, reused so that each chunk does not pay for new
/// libcrypto contexts and scratch buffers.
package final class EncoderPool: Sendable {
    /// `@unchecked Sendable` is safe: an encoder is only touched inside `withEncoder`, which
    /// removes it from the pool for the duration of a synchronous body, so no two threads
    /// ever use it at once.
    private final class Slot: @unchecked Sendable {
        let encoder: ObjectEncoder
        init(_ encoder: ObjectEncoder) { self.encoder = encoder }
    }

    package let session: WriteSession
    private let free = Mutex<[Slot]>([])

    package init(session: WriteSession) {
        self.session = session
    }

    /// Runs `body` with an encoder that no other task uses meanwhile.
    package func withEncoder<R>(_ body: (ObjectEncoder) throws -> R) rethrows -> R {
        let slot = free.withLock { $0.popLast() } ?? Slot(ObjectEncoder(session: session))
        defer { free.withLock { $0.append(slot) } }
        return try body(slot.encoder)
    }
}
