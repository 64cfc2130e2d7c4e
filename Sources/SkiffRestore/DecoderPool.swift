import SkiffCore
import Synchronization

/// Object decoders for concurrent tasks, reused across objects.
final class DecoderPool: Sendable {
    /// `@unchecked Sendable` is safe: a decoder is only used inside `withDecoder`, which takes
    /// it out of the pool for a synchronous body, so no two threads use it at once.
    private final class Slot: @unchecked Sendable {
        let decoder: ObjectDecoder
        init(_ decoder: ObjectDecoder) { self.decoder = decoder }
    }

    private let identityKey: SecretBytes?
    private let free = Mutex<[Slot]>([])

    init(identityKey: SecretBytes?) {
        self.identityKey = identityKey
    }

    func withDecoder<R>(_ body: (ObjectDecoder) throws -> R) rethrows -> R {
        let slot = free.withLock { $0.popLast() } ?? Slot(ObjectDecoder(identityKey: identityKey))
        defer { free.withLock { $0.append(slot) } }
        return try body(slot.decoder)
    }
}
