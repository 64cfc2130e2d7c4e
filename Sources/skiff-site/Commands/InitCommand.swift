import ArgumentParser
import Foundation
import SkiffSite
import SkiffStorage
import SkiffSystem

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a site's data folder and its TLS certificate.",
        discussion: """
            Without --certificate and --key, creates a self-signed certificate for the given names and
            prints its SHA-256 fingerprint: hosts pin it (`fingerprint:` in their configuration).

            With --s3-endpoint and --s3-bucket, tenants' objects and seals go to that bucket (Ceph RGW, MinIO,
            AWS S3, ...) instead of the data folder; the settings are written to storage.json and checked now.
            Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) when the
            site runs, or, with --s3-store-credentials, are copied from them into storage.json (mode 0600).
            Several site processes may serve one bucket and prefix: give each a copy of one initialised data
            folder (tenants, hosts and tokens live in its site.sqlite).
            """)

    @OptionGroup var data: DataOptions
    @Option(name: .long, help: ArgumentHelp("A DNS name or IP address the site answers on (repeatable; default: localhost, 127.0.0.1 and this machine's name).", valueName: "NAME"))
    var name: [String] = []
    @Option(name: .long, help: ArgumentHelp("Use this certificate (PEM) instead of a self-signed one.", valueName: "FILE"))
    var certificate: String?
    @Option(name: .long, help: ArgumentHelp("The private key (PEM) of --certificate.", valueName: "FILE"))
    var key: String?
    @Option(name: .long, help: ArgumentHelp("Keep objects and seals in an S3-compatible bucket at this endpoint.", valueName: "URL"))
    var s3Endpoint: String?
    @Option(name: .long, help: ArgumentHelp("The bucket (with --s3-endpoint).", valueName: "NAME"))
    var s3Bucket: String?
    @Option(name: .long, help: ArgumentHelp("Keys go under this prefix in the bucket.", valueName: "PREFIX"))
    var s3Prefix: String = ""
    @Option(name: .long, help: ArgumentHelp("The bucket's region.", valueName: "REGION"))
    var s3Region: String = "us-east-1"
    @Flag(name: .long, help: "Address the bucket as BUCKET.endpoint (AWS) instead of endpoint/BUCKET (Ceph RGW, MinIO).")
    var s3VirtualHost = false
    @Option(name: .long, help: ArgumentHelp("PEM file of the CA that signs the endpoint's certificate.", valueName: "FILE"))
    var s3CaFile: String?
    @Option(name: .long, help: ArgumentHelp("Values larger than this go up in parts of this size (at least 5; default 64: a 32 MiB pack is one PUT).", valueName: "MIB"))
    var s3PartSize: Int = 64
    @Flag(name: .long, help: "Copy the credentials from the environment into storage.json.")
    var s3StoreCredentials = false
    @Flag(name: .long, help: "Create the bucket if it does not exist.")
    var s3CreateBucket = false

    func validate() throws {
        if (certificate == nil) != (key == nil) { throw ValidationError("give both --certificate and --key, or neither") }
        if (s3Endpoint == nil) != (s3Bucket == nil) { throw ValidationError("give both --s3-endpoint and --s3-bucket, or neither") }
        if s3PartSize < 5 { throw ValidationError("--s3-part-size is at least 5 (MiB), S3's smallest part") }
        if s3Prefix.hasPrefix("/") || s3Prefix.hasSuffix("/") || (!s3Prefix.isEmpty && !StoreKey.isValid(s3Prefix)) {
            throw ValidationError("--s3-prefix takes components of letters, digits, dot, underscore and hyphen joined by slashes, without a leading or trailing slash")
        }
    }

    func run() async throws {
        let layout = data.layout
        let folder = layout.folder
        if let s3Endpoint, let s3Bucket {
            try await configureBucket(endpoint: s3Endpoint, bucket: s3Bucket, folder: folder)
        }
        try FileIO.makeDirectories(layout.tenants, mode: 0o700)
        try FileIO.makeDirectories(layout.tls, mode: 0o700)
        _ = try SiteRegistry(path: layout.registry.description)
        let certificatePath = layout.certificate
        let keyPath = layout.privateKey
        if let certificate, let key {
            try FileIO.writeFileAtomically(certificatePath, try FileIO.readFile(RawPath(certificate)), mode: 0o644)
            try FileIO.writeFileAtomically(keyPath, try FileIO.readFile(RawPath(key)), mode: 0o600)
        } else if !FileIO.exists(certificatePath) {
            var names = name
            if names.isEmpty {
                names = ["localhost", "127.0.0.1", ProcessInfo.processInfo.hostName].filter { !$0.isEmpty }
            }
            let alternatives = names.map { $0.split(separator: ".").count == 4 && $0.allSatisfy { $0.isNumber || $0 == "." } ? "IP:\($0)" : "DNS:\($0)" }
            let generated = try SelfSignedCertificate.make(commonName: names.first ?? "skiff-site", alternativeNames: alternatives)
            try FileIO.writeFileAtomically(keyPath, Array(generated.privateKeyPEM.utf8), mode: 0o600)
            try FileIO.writeFileAtomically(certificatePath, Array(generated.certificatePEM.utf8), mode: 0o644)
        }
        let pem = String(decoding: try FileIO.readFile(certificatePath), as: UTF8.self)
        guard let fingerprint = SelfSignedCertificate.fingerprint(pem: pem) else {
            throw SiteCommandFailure.key("\(certificatePath) holds no certificate")
        }
        print("site data folder \(folder) is ready")
        print("certificate \(certificatePath)")
        print("fingerprint sha256:\(fingerprint)")
        print("next: skiff-site tenant add NAME --key TENANT.pub, then skiff-site token create ...")
    }

    /// Writes storage.json once the bucket answers with the credentials.
    private func configureBucket(endpoint: String, bucket: String, folder: RawPath) async throws {
        var storage = StorageConfiguration(endpoint: endpoint, bucket: bucket, prefix: s3Prefix, region: s3Region, pathStyle: !s3VirtualHost,
                                           caFile: s3CaFile, partSizeMiB: s3PartSize)
        let signer = try storage.signer()
        if s3StoreCredentials {
            storage.accessKeyID = signer.accessKey
            storage.secretAccessKey = signer.secretKey
        }
        let stores = try storage.tenantStores(layout: SiteDataLayout(folder: folder))
        try await withCleanup {
            do {
                if s3CreateBucket { try await stores.createBucket() }
                try await stores.check()
            } catch {
                throw SiteCommandFailure(code: 1, message: "the bucket cannot be used: \(error)")
            }
        } cleanup: {
            await stores.shutdown()
        }
        try FileIO.makeDirectories(folder, mode: 0o700)
        try storage.write(to: folder)
        print("objects and seals go to bucket \(bucket) at \(endpoint)" + (s3Prefix.isEmpty ? "" : ", under \(s3Prefix)/"))
    }
}
