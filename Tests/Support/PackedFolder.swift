import Glibc
import SkiffCore
import SkiffStorage
import SkiffSystem

/// The folder of a packed store (a local repository, or a tenant's folder at a site) as tests
/// see it from outside the process that serves it: its objects, where each is in its pack, and
/// the damage and the passing of time that tests inflict on them, through the folder's own pack
/// index (SQLite: safe beside the serving process).
package struct PackedFolder {
    package let root: RawPath

    package init(_ root: RawPath) { self.root = root }

    package func index() throws -> PackIndex {
        try PackIndex(path: root.appending("index").appending("packs.sqlite").description)
    }

    /// Every object (not in the trash) with its size, largest first.
    package func objects() throws -> [(hex: String, size: Int)] {
        let index = try index()
        let addresses = try index.addresses(from: Array(repeating: 0, count: 32), through: Array(repeating: 0xff, count: 32), after: nil, limit: Int.max)
        return try zip(addresses, index.ages(addresses)).map { ($0.hex, $1!.size) }.sorted { ($0.size, $0.hex) > ($1.size, $1.hex) }
    }

    /// The hex addresses of every object.
    package func objectNames() throws -> Set<String> { Set(try objects().map(\.hex)) }

    /// The object's pack file, and where its bytes are in it.
    package func place(_ hex: String) throws -> (file: RawPath, offset: Int, length: Int) {
        guard let address = ObjectAddress(hex: hex), let location = try index().location(of: address) else {
            throw StoreError.notFound(.object(ObjectAddress(hex: hex) ?? ObjectAddress(Digest256(bytes: [UInt8](repeating: 0, count: 32)))))
        }
        return (root.appending(location.name.folderPath), location.offset, location.length)
    }

    /// The object's stored bytes, read from its pack.
    package func bytes(_ hex: String) throws -> [UInt8] {
        let place = try place(hex)
        return Array(try FileIO.readFile(place.file)[place.offset..<(place.offset + place.length)])
    }

    /// Flips bits (`mask`) of the object's byte at `offset` (modulo its length), in its pack.
    package func flipByte(_ hex: String, at offset: Int, mask: UInt8 = 1) throws {
        let place = try place(hex)
        // Packs are written read-only.
        _ = place.file.withCString { chmod($0, 0o644) }
        let fd = try FileIO.open(place.file, flags: O_RDWR)
        defer { close(fd) }
        var byte: UInt8 = 0
        let position = off_t(place.offset + offset % place.length)
        guard pread(fd, &byte, 1, position) == 1 else { throw SystemError("pread", path: place.file.description) }
        byte ^= mask
        guard pwrite(fd, &byte, 1, position) == 1 else { throw SystemError("pwrite", path: place.file.description) }
    }

    /// Loses an object (its index row: the bytes stay as garbage in the pack).
    package func remove(_ hex: String) throws {
        try index().remove(ObjectAddress(hex: hex)!)
    }

    /// Makes objects look stored (or last vouched for) `seconds` ago.
    package func age(_ hexes: some Sequence<String>, by seconds: Int) throws {
        try index().setAge(hexes.map { ObjectAddress(hex: $0)! }, to: Int(time(nil)) - seconds)
    }

    /// Puts an object in the trash, as a collection that was killed mid-way leaves it.
    package func trash(_ hex: String) throws -> Bool {
        try index().setTrashed(ObjectAddress(hex: hex)!, true)
    }
}
