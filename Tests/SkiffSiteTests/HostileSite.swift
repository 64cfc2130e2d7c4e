import Foundation
import SkiffCore
import SkiffSite
import SkiffSiteClient
import SkiffSiteProtocol
import SkiffSystem
import SkiffTestSupport

/// One site with a tenant "acme" (host web1) and its tokens, a second tenant "other" (host
/// web1, writer token), and raw HTTPS through curl: what the hostile-client tests attack.
final class HostileSite: Sendable {
    let farm: SiteFarm
    let writer: SiteClient
    let session: WriteSession
    let otherWriterToken: String

    init(label: String, serveOptions: [String] = ["--scrub-rate", "0"]) async throws {
        farm = try await SiteFarm(sites: 1, label: label, serveOptions: serveOptions)
        writer = try await SiteClient.connect(
            SiteEndpoint(name: "a", url: farm.sites[0].url, token: try farm.token(0, "writer"), trust: .pinned(fingerprint: try farm.fingerprint(0))),
            tenant: farm.tenant.tenant)
        session = try WriteSession.start(config: farm.tenant.publicKey.config, tenant: farm.tenant.publicKey, writeSecrets: farm.tenant.writeSecrets)
        let other = try TestKeys.tenant()
        let otherHost = try TestKeys.host("web1", of: other)
        try TreeGenerator.write(Array(other.publicKey.armored.utf8), to: farm.folder.appending("other.pub"))
        try TreeGenerator.write(Array(otherHost.certificate.armored(tenant: other.tenant).utf8), to: farm.folder.appending("other-web1.cert"))
        let data = farm.sites[0].data.description
        try await SiteFarm.siteCLI(["tenant", "add", "other", "--data", data, "--key", farm.folder.appending("other.pub").description])
        try await SiteFarm.siteCLI(["host", "add", "--data", data, "--certificate", farm.folder.appending("other-web1.cert").description])
        try await SiteFarm.siteCLI(["token", "create", "--data", data, "--role", "writer", "--tenant", "other", "--host", "web1",
                              "--out", farm.folder.appending("other.writer").description])
        otherWriterToken = String(decoding: try FileIO.readFile(farm.folder.appending("other.writer")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        otherTenant = other.tenant
    }

    let otherTenant: TenantID

    var data: String { farm.sites[0].data.description }
    var url: String { farm.sites[0].url }
    var tenantPath: String { "\(url)/v1/tenants/\(farm.tenant.tenant.hex)" }

    func token(_ role: String) throws -> String { try farm.token(0, role) }

    /// A chunk object of `size` random bytes (not uploaded).
    func chunk(_ size: Int) throws -> EncodedObject {
        try ObjectEncoder(session: session).encode(kind: .chunk, children: [], body: SecureRandom.bytes(size), compression: .none)
    }

    /// Uploads the session key and a snapshot whose tree reaches `objects`, and returns the
    /// snapshot's address (the root a seal names).
    func snapshot(reaching objects: [EncodedObject], time: Int64 = 1) async throws -> ObjectAddress {
        let encoder = ObjectEncoder(session: session)
        var tree = ByteWriter()
        tree.u8(1); tree.u8(0); tree.varint(0)
        let treeObject = try encoder.encode(kind: .tree, children: objects.map(\.address), body: tree.bytes, compression: .none)
        let record = SnapshotRecord(hostName: "web1", time: Timestamp(seconds: time, nanoseconds: 0), paths: [], tags: [], summary: SnapshotSummary(),
                                    root: treeObject.address)
        let snapshot = try encoder.encode(kind: .snapshot, children: record.children, body: record.body, compression: .none)
        for object in [session.keyObject, treeObject, snapshot] { try await writer.putObject(object.address, bytes: object.bytes) }
        return snapshot.address
    }

    /// What `skiff-site … --json` printed, decoded as the type it encoded (dates in ISO 8601).
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// The audit trail, newest first.
    func trail() async throws -> [AuditEntry] {
        let text = try await SiteFarm.siteCLI(["audit-trail", "--data", data, "--json", "--limit", "500"]).standardOutput
        return try Self.decode([AuditEntry].self, text)
    }

    /// The id of the first token of `role` whose tenants include `tenant`.
    func tokenID(role: SiteRole, tenant: TenantID) async throws -> String {
        let text = try await SiteFarm.siteCLI(["token", "list", "--data", data, "--json"]).standardOutput
        guard let token = try Self.decode([TokenRecord].self, text).first(where: { $0.role == role && $0.tenants.contains(tenant.hex) })
        else { throw TestFailure("no \(role) token of \(tenant.hex) in \(text)") }
        return token.id
    }

    /// Peak resident memory of the site process (VmHWM), in bytes.
    func peakMemory() throws -> Int {
        guard let pid = farm.sites[0].processIdentifier else { throw TestFailure("the site is not running") }
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else {
            throw TestFailure("no VmHWM in /proc/\(pid)/status")
        }
        return kib << 10
    }

    func close() async {
        try? await writer.shutdown()
        farm.remove()
    }
}

/// A raw HTTPS exchange through curl, which sends whatever a test asks (the client would not).
struct RawAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The refusal's code, from the JSON error body (nil when there is none, or an unknown code).
    var code: SiteErrorCode? {
        guard let answer = try? SiteAPI.jsonDecoder().decode(ErrorBody.self, from: Data(body)) else { return nil }
        return SiteErrorCode(rawValue: answer.error.code)
    }

    static func fetch(_ method: String, _ url: String, token: String? = nil, headers: [String] = [], body: [UInt8]? = nil,
                      folder: TemporaryDirectory) async throws -> RawAnswer {
        let tag = UInt32.random(in: 0...UInt32.max)
        let headerFile = folder.appending("raw-\(tag).headers"), bodyFile = folder.appending("raw-\(tag).body")
        var arguments = ["-sk", "-X", method, "-D", headerFile.description, "-o", bodyFile.description, "-w", "%{http_code}"]
        if method == "HEAD" { arguments = ["-sk", "-I", "-D", headerFile.description, "-o", bodyFile.description, "-w", "%{http_code}"] }
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        for header in headers { arguments += ["-H", header] }
        if let body {
            let file = folder.appending("raw-\(tag).upload")
            try TreeGenerator.write(body, to: file)
            arguments += ["--data-binary", "@\(file)"]
        }
        let result = try await CommandRunner.run("/usr/bin/curl", arguments + [url])
        var fields: [String: String] = [:]
        let headerText = String(decoding: (try? FileIO.readFile(headerFile)) ?? [], as: UTF8.self)
        for line in headerText.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return RawAnswer(status: Int(result.standardOutput) ?? 0, headers: fields, body: (try? FileIO.readFile(bodyFile)) ?? [])
    }
}
