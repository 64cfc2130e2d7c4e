/// Where a host keeps what it needs between runs: every path below its state folder and its
/// cache folder, named once. Pure naming: nothing here touches the filesystem, and the folders
/// themselves come from elsewhere (`state_dir` of the configuration, `--cache-dir`; their
/// defaults are `HostDefaults` in SkiffConfig).
///
/// The state folder (`state_dir`):
/// - `outbox-<tenant>/`: the durable outbox of one tenant's snapshots (`Outbox`, which names
///   what is inside);
/// - `cache/`: the cache folder of backups to sites and of the agent, unless `--cache-dir`
///   names another;
/// - `database-copies/`: consistent copies of live SQLite databases, made before they are read;
/// - `audit.sqlite`: the audit state of `skiff audit` and `skiff heal`, unless `--state` names
///   another.
///
/// A cache folder (`CacheFolder`):
/// - `<tenant>-<host>.sqlite`: the local cache of one host of one tenant (`LocalCache`);
/// - `restore/`: the journals of interrupted restores (`RestoreJournal`);
/// - `database-copies/`: database copies of backups into a local repository, which use no
///   state folder.
///
/// Backups never read the folders of this layout (`ownFolders`).
package struct HostStateLayout: Sendable, Equatable {
    /// The state folder.
    package let stateFolder: String

    package init(stateFolder: String) { self.stateFolder = stateFolder }

    /// The outbox folder of `tenant`.
    package func outbox(tenant: TenantID) -> String { Self.join(stateFolder, "outbox-\(tenant.hex)") }

    /// The cache folder when none is given.
    package var cacheFolder: CacheFolder { CacheFolder(Self.join(stateFolder, "cache")) }

    /// Where live SQLite databases are copied before a backup to sites or the agent reads them.
    package var databaseCopies: String { Self.join(stateFolder, "database-copies") }

    /// The audit state (SQLite).
    package var auditState: String { Self.join(stateFolder, "audit.sqlite") }

    /// The folders a backup must leave out: this state folder and the cache folder in use.
    package func ownFolders(cache: CacheFolder) -> [String] { [stateFolder, cache.path] }

    /// What a cache folder holds.
    package struct CacheFolder: Sendable, Equatable {
        package let path: String

        package init(_ path: String) { self.path = path }

        /// The local cache (SQLite) of `host` of `tenant`.
        package func localCache(tenant: TenantID, host: String) -> String { HostStateLayout.join(path, "\(tenant.hex)-\(host).sqlite") }

        /// The folder of restore journals.
        package var restoreJournals: String { HostStateLayout.join(path, "restore") }

        /// Where live SQLite databases are copied before a backup into a local repository reads them.
        package var databaseCopies: String { HostStateLayout.join(path, "database-copies") }
    }

    /// `folder/component`, with one slash between them (none when `folder` is empty).
    static func join(_ folder: String, _ component: String) -> String {
        if folder.isEmpty { return component }
        return folder.hasSuffix("/") ? folder + component : folder + "/" + component
    }
}
