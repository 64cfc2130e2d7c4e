import SkiffCore

/// Where a packed store keeps its pack files: a folder (`FilePackShelf`) or any object store
/// (`StorePackShelf`: a bucket, or memory in tests). Packs are named by `PackName` and, once a
/// byte is written, never change it; only a repack's deletion removes a pack.
package protocol PackShelf: Sendable {
    /// True when a pack made durable can still be appended to (files). False when a pack is
    /// written whole (object stores): making it durable finishes it.
    var appendsAfterSync: Bool { get }

    /// How neighbouring objects of a pack are read as one range when many are read at once
    /// (`CollectableStore.readSpans`): a read costs a system call on a disk and a request on a
    /// bucket, so a bucket reads across larger gaps.
    var coalescing: ReadCoalescing { get }

    /// The pack's key in the store that holds it (for the trash of a shared store, S15).
    func key(_ name: PackName) -> StoreKey

    /// Starts a new, empty pack. Its bytes are readable through `read` as they are appended.
    func create(_ name: PackName) throws -> any PackAppender

    /// The bytes in `range` of a pack, clamped to its size.
    /// - Throws: `StoreError.notFound` (with the pack's key) when there is no such pack.
    func read(_ name: PackName, range: Range<Int>) async throws -> [UInt8]

    /// `range` of a pack read into a buffer the caller makes (see `CollectableStore.read(_:into:)`).
    func read<Buffer: Sendable>(_ name: PackName, range: Range<Int>,
                                into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer

    /// The pack's size, or nil when there is none.
    func size(_ name: PackName) async throws -> Int?

    /// The packs on the shelf started at or after `seconds` (Unix time; 0: every pack), in name
    /// order: for rebuilding an index, and for finding packs other processes put (S13).
    func names(startedSince seconds: Int) async throws -> [PackName]

    /// Deletes a pack. Idempotent.
    func delete(_ name: PackName) async throws

    /// True when no live process is appending to the pack (its writer was killed or finished).
    /// Shelves that write packs whole always answer true.
    func isAbandoned(_ name: PackName) async throws -> Bool
}

extension PackShelf {
    package func read<Buffer: Sendable>(_ name: PackName, range: Range<Int>,
                                        into make: @escaping @Sendable (_ count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Buffer) async throws -> Buffer {
        try copy(try await read(name, range: range), into: make)
    }

    package func isAbandoned(_ name: PackName) async throws -> Bool { true }
}

/// The pack a store is appending to. Calls are serialised by the store.
package protocol PackAppender: Sendable {
    var name: PackName { get }
    /// Bytes written so far (the magic included).
    var size: Int { get }
    /// Appends `parts` one after the other and returns the offset where the first begins.
    func append(_ parts: [UnsafeRawBufferPointer]) throws -> Int
    /// Bytes of the pack not yet on the shelf (an appender that writes the pack whole holds
    /// them), or nil when the shelf has them.
    func pendingBytes(_ range: Range<Int>) -> [UInt8]?
    /// Makes every byte appended so far durable. Only for shelves that append after a sync.
    func sync() async throws
    /// Makes the pack durable and final; nothing is appended after.
    func finish() async throws
    /// Gives up the pack without finishing it (after an error).
    func abandon()
}

extension PackAppender {
    /// Appends one record (header, then the object's bytes) and returns where the object's
    /// bytes are.
    func appendRecord(_ address: ObjectAddress, _ bytes: UnsafeRawBufferPointer) throws -> PackEntry {
        let header = PackLayout.recordHeader(address: address, length: bytes.count)
        let start = try header.withUnsafeBytes { try append([$0, bytes]) }
        return PackEntry(address: address, offset: start + PackLayout.recordHeaderSize, length: bytes.count)
    }

    /// Appends the trailer naming `entries` and makes the pack durable and final; a pack that
    /// fails to finish is abandoned.
    func finish(entries: [PackEntry]) async throws {
        do {
            _ = try PackLayout.trailer(entries).withUnsafeBytes { try append([$0]) }
            try await finish()
        } catch {
            abandon()
            throw error
        }
    }
}
