import Glibc
import SkiffCore

/// The entries of one directory as the host's last snapshot stored them, packed in one
/// buffer: per entry its name, its `EntryStamp` and its content (a file's chunk or content
/// list, a directory's tree node), in strictly increasing name order.
///
/// One SQLite row per directory holds it (`LocalCache.DirectoryRecord`), so an incremental
/// backup reads the cache once per directory, not once per file, and looks a name up by
/// binary search in memory. Layout of an entry (little-endian):
///
///     u16 name length (1...4096) · name · u8 content kind · u32 mode · u64 inode · i64 size ·
///     i64 mtime · i64 ctime · i64 atime (ns since the epoch) · 32-byte address (kinds 1-3)
///
/// Content kinds: 0 none, 1 one chunk, 2 a content list, 3 a subtree, 4 none to reuse (the
/// file was changing while it was read, or is a live database: read it again next time).
package struct CachedListing: Sendable, Equatable {
    package let bytes: [UInt8]
    private let offsets: [Int]

    static let maximumNameLength = 4096
    private static let fixedLength = 2 + 1 + 4 + 8 * 5
    private static let readAgain: UInt8 = 4

    /// Parses a listing; nil when `bytes` are not one (truncated, an unknown kind, names out
    /// of order): the caller then treats the directory as never seen.
    package init?(bytes: [UInt8]) {
        var offsets: [Int] = []
        let parsed: Bool = bytes.withUnsafeBytes { raw in
            var offset = 0
            var previous: Range<Int>?
            while offset < raw.count {
                guard raw.count - offset >= 2 else { return false }
                let nameLength = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                guard nameLength > 0, nameLength <= Self.maximumNameLength, raw.count - offset - 2 >= nameLength + Self.fixedLength - 2 else { return false }
                let name = offset + 2..<offset + 2 + nameLength
                let kind = raw[name.upperBound]
                guard kind <= Self.readAgain else { return false }
                let length = 2 + nameLength + Self.fixedLength - 2 + ((1...3).contains(kind) ? 32 : 0)
                guard raw.count - offset >= length else { return false }
                if let previous, Self.compare(raw, previous, raw, name) >= 0 { return false }
                previous = name
                offsets.append(offset)
                offset += length
            }
            return true
        }
        guard parsed else { return nil }
        self.bytes = bytes
        self.offsets = offsets
    }

    package var count: Int { offsets.count }

    /// The position of the entry called `name`, if the listing has one.
    package func index(of name: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { raw in
            name.withUnsafeBytes { wanted in
                var low = 0
                var high = offsets.count
                while low < high {
                    let middle = (low + high) / 2
                    let order = Self.compare(raw, nameRange(raw, middle), wanted, 0..<wanted.count)
                    if order == 0 { return middle }
                    if order < 0 { low = middle + 1 } else { high = middle }
                }
                return nil
            }
        }
    }

    package func name(at index: Int) -> [UInt8] {
        bytes.withUnsafeBytes { Array(UnsafeRawBufferPointer(rebasing: $0[nameRange($0, index)])) }
    }

    package func stamp(at index: Int) -> EntryStamp {
        bytes.withUnsafeBytes { raw in
            let base = nameRange(raw, index).upperBound + 1
            func i64(_ at: Int) -> Int64 { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: base + at, as: Int64.self)) }
            return EntryStamp(
                mode: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base, as: UInt32.self)),
                inode: UInt64(bitPattern: i64(4)), size: i64(12), modificationTime: i64(20), changeTime: i64(28), accessTime: i64(36))
        }
    }

    /// The entry's content as stored, or nil when it must be read again.
    package func content(at index: Int) -> ContentReference? {
        bytes.withUnsafeBytes { raw in
            let kindOffset = nameRange(raw, index).upperBound
            let addressOffset = kindOffset + Self.fixedLength - 2
            func address() -> ObjectAddress { ObjectAddress(Digest256(UnsafeRawBufferPointer(rebasing: raw[addressOffset..<addressOffset + 32]))) }
            switch raw[kindOffset] {
            case 0: return ContentReference.none
            case 1: return .chunk(address())
            case 2: return .list(address())
            case 3: return .subtree(address())
            default: return nil
            }
        }
    }

    /// The same listing without the entries whose content names an object not in `kept`.
    package func keeping(_ kept: Set<ObjectAddress>) -> CachedListing {
        var builder = Builder()
        for index in 0..<count {
            let content = content(at: index)
            if let address = content?.address, !kept.contains(address) { continue }
            builder.append(name: name(at: index), stamp: stamp(at: index), content: content)
        }
        return builder.listing ?? self
    }

    private func nameRange(_ raw: UnsafeRawBufferPointer, _ index: Int) -> Range<Int> {
        let offset = offsets[index]
        let length = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        return offset + 2..<offset + 2 + length
    }

    private static func compare(_ a: UnsafeRawBufferPointer, _ ra: Range<Int>, _ b: UnsafeRawBufferPointer, _ rb: Range<Int>) -> Int {
        let common = min(ra.count, rb.count)
        let order = common == 0 ? 0 : Int(memcmp(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, common))
        return order != 0 ? order : ra.count - rb.count
    }

    /// Writes a listing, entry by entry in strictly increasing name order.
    package struct Builder {
        private var writer = ByteWriter(capacity: 4096)

        package init() {}

        /// Appends an entry; `content` nil marks a file to read again next time.
        package mutating func append(name: [UInt8], stamp: EntryStamp, content: ContentReference?) {
            precondition(!name.isEmpty && name.count <= CachedListing.maximumNameLength, "a directory entry's name is 1 to 4096 bytes")
            writer.u16(UInt16(name.count))
            writer.raw(name)
            let (kind, address): (UInt8, ObjectAddress?) = switch content {
            case nil: (CachedListing.readAgain, nil)
            case .none?: (0, nil)
            case .chunk(let a)?: (1, a)
            case .list(let a)?: (2, a)
            case .subtree(let a)?: (3, a)
            }
            writer.u8(kind)
            writer.u32(stamp.mode)
            writer.u64(stamp.inode)
            writer.i64(stamp.size)
            writer.i64(stamp.modificationTime)
            writer.i64(stamp.changeTime)
            writer.i64(stamp.accessTime)
            if let address { writer.digest(address.digest) }
        }

        /// The listing written; nil if the entries were not in strictly increasing name order.
        package var listing: CachedListing? { CachedListing(bytes: writer.bytes) }
    }
}
