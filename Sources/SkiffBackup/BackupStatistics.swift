import Synchronization

/// Counters of one backup run, updated from many tasks.
package final class BackupStatistics: Sendable {
    package let filesSeen = Atomic<Int>(0)
    package let filesRead = Atomic<Int>(0)
    package let filesUnchanged = Atomic<Int>(0)
    package let directories = Atomic<Int>(0)
    package let otherEntries = Atomic<Int>(0)
    package let bytesRead = Atomic<Int>(0)
    package let logicalBytes = Atomic<Int>(0)
    package let chunksNew = Atomic<Int>(0)
    package let chunksDeduplicated = Atomic<Int>(0)
    package let bytesDeduplicated = Atomic<Int>(0)
    package let nodesNew = Atomic<Int>(0)
    package let nodesReused = Atomic<Int>(0)
    /// Directories walked whose entries all matched the cache: their nodes kept, not encoded.
    package let directoriesUnchanged = Atomic<Int>(0)
    /// Directories kept from the previous snapshot without being walked (agent).
    package let subtreesReused = Atomic<Int>(0)
    package let objectsStored = Atomic<Int>(0)
    package let bytesStored = Atomic<Int>(0)
    package let filesChangedWhileRead = Atomic<Int>(0)
    package let errors = Atomic<Int>(0)

    package init() {}

    package var snapshot: Summary {
        Summary(
            filesSeen: filesSeen.load(ordering: .relaxed), filesRead: filesRead.load(ordering: .relaxed),
            filesUnchanged: filesUnchanged.load(ordering: .relaxed), directories: directories.load(ordering: .relaxed),
            otherEntries: otherEntries.load(ordering: .relaxed), bytesRead: bytesRead.load(ordering: .relaxed),
            logicalBytes: logicalBytes.load(ordering: .relaxed), chunksNew: chunksNew.load(ordering: .relaxed),
            chunksDeduplicated: chunksDeduplicated.load(ordering: .relaxed), bytesDeduplicated: bytesDeduplicated.load(ordering: .relaxed),
            nodesNew: nodesNew.load(ordering: .relaxed), nodesReused: nodesReused.load(ordering: .relaxed),
            directoriesUnchanged: directoriesUnchanged.load(ordering: .relaxed),
            subtreesReused: subtreesReused.load(ordering: .relaxed), objectsStored: objectsStored.load(ordering: .relaxed), bytesStored: bytesStored.load(ordering: .relaxed),
            filesChangedWhileRead: filesChangedWhileRead.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed))
    }

    /// A plain copy of the counters, for reports and JSON.
    package struct Summary: Codable, Equatable, Sendable {
        package var filesSeen: Int
        package var filesRead: Int
        package var filesUnchanged: Int
        package var directories: Int
        package var otherEntries: Int
        package var bytesRead: Int
        package var logicalBytes: Int
        package var chunksNew: Int
        package var chunksDeduplicated: Int
        package var bytesDeduplicated: Int
        package var nodesNew: Int
        package var nodesReused: Int
        package var directoriesUnchanged: Int
        package var subtreesReused: Int
        package var objectsStored: Int
        package var bytesStored: Int
        package var filesChangedWhileRead: Int
        package var errors: Int
    }
}
