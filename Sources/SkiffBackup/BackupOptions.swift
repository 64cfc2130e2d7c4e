import Glibc
import SkiffSystem

/// What to back up and how.
package struct BackupOptions: Sendable {
    /// Glob patterns (fnmatch(3)); a pattern with a '/' matches the absolute path, one
    /// without matches the entry's name. Matching entries (and their subtrees) are skipped.
    package var excludes: [String] = []
    /// Skip directories that contain a CACHEDIR.TAG file with the standard signature.
    package var excludeCaches = false
    /// Do not cross into other filesystems below each given path (like `--one-file-system`).
    package var oneFileSystem = false
    /// Paths never backed up, whatever the patterns say (the repository, the cache).
    package var alwaysExcluded: [RawPath] = []
    /// For the agent: true when no change was seen at or below a directory since the last
    /// snapshot (inotify watched it all along). Such a directory whose inode, mtime and ctime
    /// match the local cache's record keeps its previous subtree without being walked. Nil
    /// walks everything.
    package var unchangedDirectories: (@Sendable (RawPath) -> Bool)?
    /// Where consistent copies of live SQLite databases are made (see `DatabaseCapture`);
    /// nil reads databases as plain files.
    package var databaseCaptureFolder: RawPath?
    package var tags: [String] = []
    /// Files processed at once; each holds at most one read window in memory.
    package var parallelFiles: Int = BackupOptions.defaultParallelism
    /// Bytes read per window from large files (at least twice the largest chunk).
    package var readWindow: Int = 8 << 20
    /// Make accepted objects durable and record them in the cache every this many new bytes,
    /// so a killed backup resumes without re-uploading.
    package var checkpointBytes: Int = 256 << 20
    /// …or after this many objects and file records, whichever comes first (bounds memory
    /// for trees of many small files).
    package var checkpointRecords = 16_384
    /// Objects in the local cache are reused only if stored or referenced by one of this
    /// host's sealed snapshots within this many seconds (rule W6: sites keep what seals reach
    /// for their reuse horizon, 31 days by default; this must stay below every site's).
    package var reuseHorizonSeconds: Int64 = 30 * 86_400

    package init() {}

    package static var defaultParallelism: Int { max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 1) }

    /// True when `path` (with last component `name`) must be skipped.
    package func isExcluded(path: RawPath, name: [UInt8]) -> Bool {
        if alwaysExcluded.contains(path) { return true }
        guard !excludes.isEmpty else { return false }
        let nameString = RawPath(bytes: name)
        for pattern in excludes {
            let subject = pattern.contains("/") ? path : nameString
            let matched = subject.withCString { fnmatch(pattern, $0, FNM_PATHNAME) == 0 }
            if matched { return true }
        }
        return false
    }

    static let cacheDirectorySignature = Array("Signature: 8a477f597d28d172789f06886806bc55".utf8)

    /// True when `directory` holds a CACHEDIR.TAG (https://bford.info/cachedir/).
    package func isCacheDirectory(_ directory: RawPath) -> Bool {
        guard excludeCaches else { return false }
        guard let bytes = try? FileIO.readFile(directory.appending("CACHEDIR.TAG"), limit: 4096) else { return false }
        return bytes.starts(with: Self.cacheDirectorySignature)
    }
}

extension BackupOptions {
    /// What a host protects (`skiff backup` and the agent): its exclusions, its own state
    /// folders (never backed up, made absolute), and where live databases are copied.
    package init(excludes: [String], excludeCaches: Bool, oneFileSystem: Bool, excluding stateFolders: [RawPath],
                 databaseCaptureFolder: RawPath) throws {
        self.init()
        self.excludes = excludes
        self.excludeCaches = excludeCaches
        self.oneFileSystem = oneFileSystem
        alwaysExcluded = try stateFolders.map { try $0.absolute() }
        self.databaseCaptureFolder = databaseCaptureFolder
    }
}
