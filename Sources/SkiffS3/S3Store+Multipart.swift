import Foundation
import NIOHTTP1
import SkiffCore
import SkiffStorage

/// Multipart upload for values larger than `S3Location.partSize`: CreateMultipartUpload, one
/// UploadPart per part, then CompleteMultipartUpload with `If-None-Match: *`, so a value is
/// created whole or not at all and never replaces another. An upload that fails is aborted; one
/// left by a killed process is removed by `removeStaleLeftovers`.
extension S3Store {
    func putInParts(_ key: StoreKey, _ bytes: [UInt8]) async throws -> PutOutcome {
        if try await size(key) != nil { return .alreadyPresent }
        let path = objectPath(key.path)
        let created = try await send(.POST, path: path, query: [("uploads", "")])
        guard created.status == 200, let uploadID = Self.element("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
            throw failure(created, "start multipart upload of \(key)")
        }
        do {
            var parts: [(number: Int, etag: String)] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + location.partSize, bytes.count)
                let number = parts.count + 1
                let answer = try await send(.PUT, path: path, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: Array(bytes[offset..<end]))
                guard answer.status == 200, let etag = answer.headers.first(name: "ETag") else { throw failure(answer, "upload part \(number) of \(key)") }
                parts.append((number, etag))
                offset = end
            }
            let manifest = "<CompleteMultipartUpload>"
                + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag)</ETag></Part>" }.joined()
                + "</CompleteMultipartUpload>"
            let conditional = !conditionalPutsRefused.load(ordering: .relaxed)
            var answer = try await send(.POST, path: path, query: [("uploadId", uploadID)],
                                        headers: conditional ? [("If-None-Match", "*")] : [], body: Array(manifest.utf8))
            if conditional, answer.status == 501 || answer.code?.contains("NotImplemented") == true {
                conditionalPutsRefused.store(true, ordering: .relaxed)
                answer = try await send(.POST, path: path, query: [("uploadId", uploadID)], body: Array(manifest.utf8))
            }
            // S3 can answer 200 and still fail the completion: the body is then an <Error>.
            switch answer.status {
            case 200 where answer.code == nil:
                return .stored
            case 412, 409:
                try? await abort(path: path, uploadID: uploadID)
                return .alreadyPresent
            default:
                throw failure(answer, "complete multipart upload of \(key)")
            }
        } catch {
            try? await abort(path: path, uploadID: uploadID)
            throw error
        }
    }

    func abort(path: String, uploadID: String) async throws {
        let answer = try await send(.DELETE, path: path, query: [("uploadId", uploadID)])
        guard answer.status == 204 || answer.status == 200 || answer.status == 404 else { throw failure(answer, "abort multipart upload") }
    }

    /// Aborts multipart uploads under this store's prefix started more than `age` seconds ago.
    func abortStaleUploads(olderThan age: Int) async throws {
        let base = location.prefix.isEmpty ? "" : "\(location.prefix)/"
        let answer = try await send(.GET, path: bucketPath + "/", query: [("prefix", base), ("uploads", "")], limit: 16 << 20)
        guard answer.status == 200 else { throw failure(answer, "list multipart uploads") }
        let cutoff = Date().addingTimeInterval(-Double(age))
        for upload in Self.elements("Upload", in: String(decoding: answer.body, as: UTF8.self)) {
            guard let key = Self.element("Key", in: upload), let id = Self.element("UploadId", in: upload),
                  let initiated = Self.element("Initiated", in: upload).flatMap(Self.parseISO8601), initiated < cutoff
            else { continue }
            try await abort(path: bucketPath + "/" + PercentEncoding.encode(key, keepSlash: true), uploadID: id)
        }
    }
}
