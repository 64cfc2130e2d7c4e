import Foundation
import NIOHTTP1
import SkiffCore
import SkiffStorage

/// A site's store in a bucket, shared by every site process on it (docs/FORMAT.md §10, "Sites on
/// S3"). Objects cannot be touched in place, so the garbage collector's records live beside them:
/// - a vouch is an empty `vouches/<key>` written (overwritten) *before* the value's presence is
///   checked; its Last-Modified is the vouch time;
/// - the trash is `trash/<key>`, a server-side copy that carries the value's original
///   Last-Modified in `x-amz-meta-skiff-modified`;
/// - quarantine is `quarantine/<key>`.
/// Ages are the bucket's clock (Last-Modified), which the collector compares with the site's:
/// keep them in step (NTP) or lengthen the grace period by the skew.
extension S3Store: CollectableStore {
    package var isShared: Bool { true }

    static let vouchesPrefix = "vouches/"
    static let trashPrefix = "trash/"
    static let quarantinePrefix = "quarantine/"
    static let modifiedMetadata = "x-amz-meta-skiff-modified"

    private func under(_ prefix: String, _ key: StoreKey) throws -> StoreKey {
        try StoreKey(prefix + key.path)
    }

    /// A value found missing needs no record (the answer is "missing"); for one found present the
    /// record is written, then presence checked again: that second check is the answer.
    package func vouch(_ key: StoreKey) async throws -> Bool {
        guard try await size(key) != nil else { return false }
        try await overwrite(try under(Self.vouchesPrefix, key), [])
        return try await size(key) != nil
    }

    package func recordVouch(_ key: StoreKey) async throws {
        try await overwrite(try under(Self.vouchesPrefix, key), [])
    }

    package func vouchRecordAge(_ key: StoreKey) async throws -> Int? {
        try await head(try under(Self.vouchesPrefix, key))?.modified
    }

    package func age(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        guard let stored = try await head(key) else { return nil }
        let vouched = try await head(try under(Self.vouchesPrefix, key))?.modified ?? 0
        return (max(stored.modified, vouched), stored.size)
    }

    package func moveToTrash(_ key: StoreKey) async throws -> Bool {
        guard let stored = try await head(key) else { return false }
        guard try await copy(key, to: try under(Self.trashPrefix, key), metadata: [(Self.modifiedMetadata, "\(stored.modified)")]) else { return false }
        try await delete(key)
        return true
    }

    package func trashedAge(_ key: StoreKey) async throws -> (modified: Int, size: Int)? {
        guard let trashed = try await head(try under(Self.trashPrefix, key)) else { return nil }
        let stored = trashed.metadata.first(name: Self.modifiedMetadata).flatMap(Int.init) ?? trashed.modified
        let vouched = try await head(try under(Self.vouchesPrefix, key))?.modified ?? 0
        return (max(stored, vouched), trashed.size)
    }

    package func restoreFromTrash(_ key: StoreKey) async throws {
        let trashed = try under(Self.trashPrefix, key)
        if try await size(key) == nil {
            guard try await copy(trashed, to: key, metadata: nil) else { return }
        }
        try await delete(trashed)
    }

    package func getTrashed(_ key: StoreKey, byteRange: Range<Int>?) async throws -> [UInt8] {
        try await get(try under(Self.trashPrefix, key), byteRange: byteRange)
    }

    package func emptyTrash(_ key: StoreKey) async throws {
        try await delete(try under(Self.trashPrefix, key))
    }

    package func trashedObjectKeys() async throws -> [StoreKey] {
        var found: [StoreKey] = []
        for try await key in keys(prefix: Self.trashPrefix + StoreKey.objectsPrefix) {
            if let original = try? StoreKey(String(key.path.dropFirst(Self.trashPrefix.count))) { found.append(original) }
        }
        return found
    }

    package func forgetVouches(olderThan cutoff: Int) async throws {
        var after: StoreKey?
        while true {
            let page = try await listWithTimes(prefix: Self.vouchesPrefix, after: after, limit: 1000)
            guard let last = page.last else { return }
            for (key, modified) in page where modified < cutoff { try await delete(key) }
            after = last.key
        }
    }

    package func quarantine(_ key: StoreKey) async throws -> Bool {
        guard try await copy(key, to: try under(Self.quarantinePrefix, key), metadata: nil) else { return false }
        try await delete(key)
        return true
    }

    package func replaceDamaged(_ key: StoreKey, _ bytes: [UInt8]) async throws {
        try await overwrite(key, bytes)
    }

    /// Multipart uploads a killed process left unfinished, after an hour.
    package func removeStaleLeftovers() async throws {
        try await abortStaleUploads(olderThan: 3600)
    }

    // MARK: Requests beyond the storage protocol

    /// An unconditional PUT: for vouch records and repairs only.
    func overwrite(_ key: StoreKey, _ bytes: [UInt8]) async throws {
        let answer = try await send(.PUT, path: objectPath(key.path), body: bytes)
        guard answer.status == 200 else { throw failure(answer, "PUT \(key)") }
    }

    /// Size, Last-Modified (Unix seconds) and headers of a value, or nil.
    func head(_ key: StoreKey) async throws -> (size: Int, modified: Int, metadata: HTTPHeaders)? {
        let answer = try await send(.HEAD, path: objectPath(key.path))
        switch answer.status {
        case 200:
            guard let modified = answer.headers.first(name: "Last-Modified").flatMap(Self.parseHTTPDate) else {
                throw StoreError.io("S3 HEAD \(key): no readable Last-Modified")
            }
            return (answer.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0, Int(modified.timeIntervalSince1970), answer.headers)
        case 404: return nil
        default: throw failure(answer, "HEAD \(key)")
        }
    }

    /// Server-side copy; `metadata` replaces the user metadata when given. False when the source
    /// is missing.
    func copy(_ source: StoreKey, to target: StoreKey, metadata: [(String, String)]?) async throws -> Bool {
        let fullSource = location.prefix.isEmpty ? source.path : "\(location.prefix)/\(source.path)"
        var headers = [("x-amz-copy-source", "/\(PercentEncoding.encode(location.bucket))/\(PercentEncoding.encode(fullSource, keepSlash: true))")]
        if let metadata { headers += [("x-amz-metadata-directive", "REPLACE")] + metadata }
        let answer = try await send(.PUT, path: objectPath(target.path), headers: headers)
        switch answer.status {
        case 200 where answer.code == nil: return true
        case 404 where answer.code != "NoSuchBucket": return false
        default: throw failure(answer, "COPY \(source) to \(target)")
        }
    }

    /// Like `list`, with each key's Last-Modified (Unix seconds).
    func listWithTimes(prefix: String, after: StoreKey?, limit: Int) async throws -> [(key: StoreKey, modified: Int)] {
        let base = location.prefix.isEmpty ? "" : "\(location.prefix)/"
        var query = [("list-type", "2"), ("prefix", base + prefix), ("max-keys", "\(min(max(limit, 1), 1000))")]
        if let after { query.append(("start-after", base + after.path)) }
        let answer = try await send(.GET, path: bucketPath + "/", query: query, limit: 16 << 20)
        guard answer.status == 200 else { throw failure(answer, "LIST \(prefix)") }
        return Self.elements("Contents", in: String(decoding: answer.body, as: UTF8.self)).compactMap { entry in
            guard let name = Self.element("Key", in: entry), name.hasPrefix(base), let key = try? StoreKey(String(name.dropFirst(base.count))),
                  let modified = Self.element("LastModified", in: entry).flatMap(Self.parseISO8601)
            else { return nil }
            return (key, Int(modified.timeIntervalSince1970))
        }
    }

    static func elements(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let start = rest.range(of: "<\(name)>"), let end = rest.range(of: "</\(name)>", range: start.upperBound..<rest.endIndex) {
            found.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return found
    }

    static func parseISO8601(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// RFC 7231 IMF-fixdate, as in Last-Modified: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
