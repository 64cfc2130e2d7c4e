import SkiffSystem

/// The site's data folder (`skiff-site --data`): every path in it named once. Pure naming:
/// nothing here touches the filesystem.
///
/// - `site.sqlite`: the registry (`SiteRegistry`);
/// - `tenants/`: each tenant's objects and seals, `tenants/<id>/` (`FolderTenantStores`),
///   unless `storage.json` puts them in a bucket;
/// - `pack-indexes/<tenant id>.sqlite`: where each tenant's objects are in its packs, when the
///   packs are in a bucket (a folder store keeps its index inside it);
/// - `storage.json`: where tenants' objects and seals are kept when not in `tenants/`
///   (written by `skiff-site init --s3-…`);
/// - `tls/certificate.pem`, `tls/key.pem`: the server's certificate chain and private key,
///   unless `serve` is given others.
package struct SiteDataLayout: Sendable, Equatable {
    package let folder: RawPath

    package init(folder: RawPath) { self.folder = folder }

    package var registry: RawPath { folder.appending("site.sqlite") }
    package var tenants: RawPath { folder.appending("tenants") }
    package var packIndexes: RawPath { folder.appending("pack-indexes") }
    /// Windows of packs read from a bucket, one folder per site process (`PackWindows`).
    package var packCache: RawPath { folder.appending("pack-cache") }
    package var storageConfiguration: RawPath { folder.appending("storage.json") }
    package var tls: RawPath { folder.appending("tls") }
    package var certificate: RawPath { tls.appending("certificate.pem") }
    package var privateKey: RawPath { tls.appending("key.pem") }
}
