import Foundation
import Glibc
import SkiffS3
import SkiffSite
import SkiffStorage
import SkiffSystem

/// `<data>/storage.json`, written by `skiff-site init --s3-…`: where the site keeps tenants'
/// objects and seals when not in `<data>/tenants/`. Without the file, the data folder holds them.
///
/// Credentials may be given here (the file is then readable by the site's user only) or, when
/// absent, come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
struct StorageConfiguration: Codable, Equatable {
    var kind: String = "s3"
    var endpoint: String
    var bucket: String
    var prefix: String = ""
    var region: String = "us-east-1"
    var pathStyle: Bool = true
    var caFile: String?
    var partSizeMiB: Int = 64
    /// The most MiB of pack windows a site process keeps on its disk (`PackWindows`; default
    /// 2048).
    var readCacheMiB: Int?
    var accessKeyID: String?
    var secretAccessKey: String?

    static func load(from folder: RawPath) throws -> StorageConfiguration? {
        let path = SiteDataLayout(folder: folder).storageConfiguration
        guard FileIO.exists(path) else { return nil }
        do {
            let configuration = try JSONDecoder().decode(StorageConfiguration.self, from: Data(try FileIO.readFile(path)))
            guard configuration.kind == "s3" else { throw SiteCommandFailure.usage("\(path): unknown storage kind \(configuration.kind) (only s3)") }
            return configuration
        } catch let error as SiteCommandFailure {
            throw error
        } catch {
            throw SiteCommandFailure.usage("\(path) is not a valid storage configuration: \(error)")
        }
    }

    func write(to folder: RawPath) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileIO.writeFileAtomically(SiteDataLayout(folder: folder).storageConfiguration, Array(try encoder.encode(self)), mode: 0o600)
    }

    var location: S3Location {
        S3Location(endpoint: endpoint, bucket: bucket, prefix: prefix, region: region, pathStyle: pathStyle, caFile: caFile,
                   partSize: partSizeMiB << 20)
    }

    func signer() throws -> S3Signer {
        if let accessKeyID, let secretAccessKey {
            return S3Signer(accessKey: accessKeyID, secretKey: secretAccessKey, region: region)
        }
        do { return try S3Store.signerFromEnvironment(region: region) } catch {
            throw SiteCommandFailure.usage("\(error)")
        }
    }

    /// The bucket's tenant stores: the index of their packs in `layout.packIndexes`, the windows
    /// of packs this process reads in its own folder of `layout.packCache` (folders of site
    /// processes no longer running are removed).
    func tenantStores(layout: SiteDataLayout) throws -> S3TenantStores {
        let budget = readCacheMiB ?? 2048
        guard budget >= 16 else { throw SiteCommandFailure.usage("readCacheMiB in \(layout.storageConfiguration) is at least 16 (one window)") }
        let windows: PackWindows
        do {
            try FileIO.makeDirectories(layout.packCache, mode: 0o700)
            for name in try FileIO.directoryEntries(layout.packCache) {
                guard let pid = Int32(String(decoding: name, as: UTF8.self)), pid != getpid() else { continue }
                if kill(pid, 0) != 0 && errno == ESRCH { try FileIO.removeTree(layout.packCache.appending(name)) }
            }
            windows = try PackWindows(folder: layout.packCache.appending("\(getpid())"), budget: budget << 20)
        } catch let error as SystemError {
            throw SiteCommandFailure.noData("cannot prepare \(layout.packCache): \(error)")
        }
        return S3TenantStores(location: location, signer: try signer(), indexFolder: layout.packIndexes, windows: windows)
    }
}
