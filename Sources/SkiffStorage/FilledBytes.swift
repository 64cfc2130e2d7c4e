import Synchronization

/// How many bytes the `fill` of a buffer maker wrote: the buffer is the caller's type, so its
/// size is learned on the way.
final class FilledBytes: Sendable {
    private let bytes = Atomic<Int>(0)

    var count: Int { bytes.load(ordering: .acquiring) }

    /// `make`, remembering what its `fill` returns.
    func counting<Buffer>(_ make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer)
        -> @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer {
        { count, fill in
            try make(count) { room in
                let written = try fill(room)
                self.bytes.store(written, ordering: .releasing)
                return written
            }
        }
    }
}
