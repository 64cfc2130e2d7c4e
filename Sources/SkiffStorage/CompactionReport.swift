import SkiffCore

/// What one `CollectableStore.compact()` did: packs rewritten and deleted, the space that
/// freed, and the garbage left in packs below the repack threshold.
package struct CompactionReport: Codable, Sendable, Equatable {
    /// Packs whose live objects were copied into new packs, then deleted.
    package var packsRewritten = 0
    /// Objects copied, and their bytes.
    package var objectsMoved = 0
    package var bytesMoved = 0
    /// Pack bytes deleted minus pack bytes written.
    package var bytesReclaimed = 0
    /// Bytes of deleted objects still inside packs (under the threshold, or in a pack being
    /// written).
    package var garbageLeft = 0
    /// Packs kept as they were because a live object in them does not hash to its address
    /// (the scrubber quarantines it; the next compaction rewrites the pack).
    package var packsWithDamage = 0
    /// Shared stores: objects a repack would have dropped that another process vouched for
    /// meanwhile, copied into a new pack instead (S15).
    package var objectsKeptByVouch = 0

    package init() {}
}

extension CompactionReport {
    /// One line for people: "3 packs rewritten (12.0 MiB moved), 40.2 MiB reclaimed, 2.1 MiB
    /// garbage left in packs".
    package var summary: String {
        var text = "\(packsRewritten) packs rewritten (\(ByteCount.text(bytesMoved)) moved), \(ByteCount.text(max(0, bytesReclaimed))) reclaimed, "
            + "\(ByteCount.text(garbageLeft)) garbage left in packs"
        if packsWithDamage > 0 { text += "; \(packsWithDamage) packs kept: an object in them is damaged (run a scrub or verify)" }
        return text
    }
}
