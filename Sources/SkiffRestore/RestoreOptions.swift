import Glibc

/// How to restore.
package struct RestoreOptions: Sendable {
    /// Replace files that already exist in the target (directories are merged). Off: existing
    /// entries are left alone and listed in the report.
    package var overwrite = false
    /// Set owners (uid/gid). Defaults to on when running as root.
    package var restoreOwnership = geteuid() == 0
    /// Map owners by the recorded user and group names where this system knows them, falling
    /// back to the recorded numbers.
    package var ownersByName = false
    /// Files written at once.
    package var parallelFiles = max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) * 2)
    /// Chunks fetched and written at once within one large file.
    package var parallelChunks = 4
    /// Bytes of a directory's upcoming small files (and the nodes of its subdirectories) read
    /// ahead at once, so that a source reached over the network gets them in a few large
    /// requests. 0: each object is read when it is needed (right for local repositories).
    package var readAheadBytes = 0

    package init() {}
}

/// What a restore did, and what it could not do.
package struct RestoreReport: Sendable, Codable, Equatable {
    package var files = 0
    package var directories = 0
    package var symlinks = 0
    package var hardlinks = 0
    package var specialFiles = 0
    package var bytesWritten: Int64 = 0
    /// Files an earlier, interrupted attempt had finished, not fetched again.
    package var resumedFiles = 0
    /// Damaged or missing copies at some source, read from another one instead.
    package var badCopies: [BadCopy] = []
    /// Entries left alone because they already existed (without `overwrite`).
    package var skippedExisting: [String] = []
    /// Things that could not be restored, with the reason ("chown: Operation not permitted").
    package var notRestored: [String] = []
    /// How many problems of each kind, including those beyond the listed examples.
    package var notRestoredCount = 0

    package init() {}

    package var isComplete: Bool { notRestoredCount == 0 && skippedExisting.isEmpty }
}
