/// Where one object sits in a pack: its stored bytes are `length` bytes at `offset`.
package struct PackEntry: Equatable, Sendable {
    package var address: ObjectAddress
    package var offset: Int
    package var length: Int

    package init(address: ObjectAddress, offset: Int, length: Int) {
        self.address = address
        self.offset = offset
        self.length = length
    }

    /// The first byte after the object.
    package var end: Int { offset + length }
}

/// The byte layout of a pack file (docs/FORMAT.md §7.1). No I/O: stores write and read the
/// bytes, this type says what they are and checks what comes from outside.
///
///     pack    = magic "SKIFFPK1" || record* || [trailer]
///     record  = u32 LE length || address (32) || object bytes (length)
///     trailer = entry* || u32 LE count || SHA-256(entry* || count) || "SKPKIDX1"
///     entry   = address (32) || u64 LE offset of the object bytes || u32 LE length
///
/// Records make a pack readable front to back without its trailer (a pack whose writer was
/// killed has none); the trailer lets a reader index a finished pack from its last bytes.
package enum PackLayout {
    package static let magic: [UInt8] = Array("SKIFFPK1".utf8)
    package static let trailerMagic: [UInt8] = Array("SKPKIDX1".utf8)
    package static let headerSize = 8
    package static let recordHeaderSize = 36
    package static let entrySize = 44
    /// count || checksum || magic.
    package static let footerSize = 4 + 32 + 8

    /// The 36 bytes that precede an object's bytes in a pack.
    package static func recordHeader(address: ObjectAddress, length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= ObjectHeader.maxObjectSize)
        var writer = ByteWriter(capacity: recordHeaderSize)
        writer.u32(UInt32(length))
        writer.digest(address.digest)
        return writer.bytes
    }

    /// The trailer that ends a pack holding `entries`.
    package static func trailer(_ entries: [PackEntry]) -> [UInt8] {
        var writer = ByteWriter(capacity: entries.count * entrySize + footerSize)
        for entry in entries {
            writer.digest(entry.address.digest)
            writer.u64(UInt64(entry.offset))
            writer.u32(UInt32(entry.length))
        }
        writer.u32(UInt32(entries.count))
        let checksum = SHA256Hasher.digest(writer.bytes)
        writer.digest(checksum)
        writer.raw(trailerMagic)
        return writer.bytes
    }

    /// How many bytes of entries precede `footer` (the last `footerSize` bytes of a pack of
    /// `packSize` bytes), or nil when the footer is not one (no trailer: scan the records).
    package static func trailerEntryBytes(footer: [UInt8], packSize: Int) -> Int? {
        guard footer.count == footerSize, Array(footer.suffix(8)) == trailerMagic else { return nil }
        let count = footer.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        // Every entry names a record of at least recordHeaderSize bytes before the trailer.
        let room = packSize - headerSize - footerSize
        guard count <= room / (entrySize + recordHeaderSize) else { return nil }
        return count * entrySize
    }

    /// The entries of a trailer: `tail` is the last `entryBytes + footerSize` bytes of a pack
    /// of `packSize` bytes. Checks the checksum and that every entry lies inside the records.
    /// - Throws: `FormatError` when the trailer is damaged (read the records instead).
    package static func parseTrailer(_ tail: [UInt8], packSize: Int) throws -> [PackEntry] {
        let context = "pack trailer"
        guard tail.count >= footerSize, tail.count <= packSize - headerSize else { throw FormatError.truncated(context) }
        let entryBytes = tail.count - footerSize
        guard entryBytes % entrySize == 0 else { throw FormatError.invalid(context, "entry bytes not a multiple of \(entrySize)") }
        let checked = tail.withUnsafeBytes { SHA256Hasher().hash(UnsafeRawBufferPointer(rebasing: $0[..<(entryBytes + 4)])) }
        var reader = ByteReader(tail, context: context)
        let entriesStart = packSize - tail.count
        var entries: [PackEntry] = []
        entries.reserveCapacity(entryBytes / entrySize)
        for _ in 0..<(entryBytes / entrySize) {
            let address = ObjectAddress(try reader.digest())
            let offset = try reader.u64()
            let length = Int(try reader.u32())
            guard offset >= UInt64(headerSize + recordHeaderSize), offset <= UInt64(entriesStart),
                  length <= ObjectHeader.maxObjectSize, Int(offset) + length <= entriesStart else {
                throw FormatError.invalid(context, "entry for \(address.short) outside the records")
            }
            entries.append(PackEntry(address: address, offset: Int(offset), length: length))
        }
        guard Int(try reader.u32()) == entries.count else { throw FormatError.invalid(context, "count") }
        guard try reader.digest() == checked else { throw FormatError.invalid(context, "checksum mismatch") }
        return entries
    }

    /// Reads records front to back from `bytes` (a pack's first bytes, or all of it) and returns
    /// the entries of those whose bytes hash to their address, stopping at the first record
    /// that is torn, damaged or the start of the trailer. `end` is where the good records end:
    /// a writer resuming the pack would append there.
    package static func scanRecords(_ bytes: UnsafeRawBufferPointer) -> (entries: [PackEntry], end: Int) {
        guard bytes.count >= headerSize, bytes.starts(with: magic) else { return ([], 0) }
        let hasher = SHA256Hasher()
        var entries: [PackEntry] = []
        var position = headerSize
        while bytes.count - position >= recordHeaderSize {
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
            let start = position + recordHeaderSize
            guard length <= ObjectHeader.maxObjectSize, length <= bytes.count - start else { break }
            let address = ObjectAddress(Digest256(UnsafeRawBufferPointer(rebasing: bytes[(position + 4)..<start])))
            guard hasher.hash(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])) == address.digest else { break }
            entries.append(PackEntry(address: address, offset: start, length: length))
            position = start + length
        }
        return (entries, position)
    }
}
