import SkiffStorage
/// What one keyless collection found and did (or, in a dry run, would do).
package struct CollectionCounts: Codable, Sendable, Equatable {
    /// Seals whose objects were kept.
    package var roots = 0
    /// Objects reachable from those seals.
    package var reachable = 0
    /// Objects listed.
    package var examined = 0
    /// Objects deleted (a dry run: that would be deleted) and their stored bytes.
    package var deletedObjects = 0
    package var deletedBytes = 0
    /// Unreachable objects kept because they are younger than the cutoff.
    package var keptYoung = 0
    /// Objects vouched for between the first look and the move to the trash: put back.
    package var putBack = 0
    /// Objects left in the trash by an interrupted collection and put back first (a dry run:
    /// found there).
    package var recovered = 0
    /// What reclaiming the deleted objects' space did (a store that keeps objects in packs
    /// rewrote packs); zeros in a dry run.
    package var compaction = CompactionReport()

    package init() {}
}
