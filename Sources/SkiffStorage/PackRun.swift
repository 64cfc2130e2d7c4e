import SkiffCore

/// Neighbouring objects of one pack read as one range: how a packed store reads many objects,
/// or many objects' headers, with few reads (docs/FORMAT.md §7.1, reads by range).
struct PackRun: Sendable {
    let name: PackName
    /// The bytes of the pack to read.
    let range: Range<Int>
    /// The objects of the run by offset: position in the caller's list, and the range of the
    /// pack wanted of each (inside `range`).
    let members: [(position: Int, wanted: Range<Int>)]

    /// Where a member's wanted range of the pack is in the bytes this run reads.
    func inRead(_ wanted: Range<Int>) -> Range<Int> {
        (wanted.lowerBound - range.lowerBound)..<(wanted.upperBound - range.lowerBound)
    }

    /// Plans the reads of `wanted` objects: grouped by pack (packs in name order, so by start
    /// time), by offset within a pack, neighbours at most `gap` bytes apart in one run of at
    /// most `limit` bytes (an object longer than `limit` is a run alone). `length` caps what is
    /// wanted of each object (its first bytes: headers); nil wants it whole.
    static func plan(_ wanted: [(position: Int, location: PackIndex.Location)], length: Int?, coalescing: ReadCoalescing) -> [PackRun] {
        var runs: [PackRun] = []
        let byPack = Dictionary(grouping: wanted, by: \.location.name)
        for name in byPack.keys.sorted() {
            let sorted = byPack[name]!.sorted { $0.location.offset < $1.location.offset }
            var members: [(position: Int, wanted: Range<Int>)] = []
            var end = 0
            func close() {
                guard let first = members.first else { return }
                runs.append(PackRun(name: name, range: first.wanted.lowerBound..<end, members: members))
                members = []
            }
            for item in sorted {
                let location = item.location
                let range = location.offset..<(location.offset + min(length ?? location.length, location.length))
                if let first = members.first,
                   range.lowerBound - end > coalescing.gap || range.upperBound - first.wanted.lowerBound > coalescing.limit {
                    close()
                }
                end = members.isEmpty ? range.upperBound : max(end, range.upperBound)
                members.append((item.position, range))
            }
            close()
        }
        return runs
    }
}
