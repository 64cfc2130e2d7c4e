/// How restores and comparisons read a snapshot from sites over the network rather than from a
/// local repository: each read costs a round trip there, so reads are gathered and overlapped,
/// and the bytes read ahead grow with the round trip (the bandwidth-delay product).
///
/// Local repositories need none of it: leave `RestoreOptions` and `TreeDiffer.Options` as they
/// are. `apply` only raises what it tunes, so options set higher stay as set.
package struct RemoteTuning: Sendable, Equatable {
    /// Files restored at once, at least (default 8): more than cores, to hide round trips.
    package var minimumParallelFiles = 8
    /// Bytes read ahead: reads made together go out in one request
    /// (`RestoreOptions.readAheadBytes`, `TreeDiffer.Options.readAheadBytes`; a file's own chunks
    /// are read a quarter of it ahead). At least 32 MiB; more at a distance: what
    /// `targetBytesPerSecond` moves in one round trip, at most `maximumReadAheadBytes`.
    package var readAheadBytes = 32 << 20
    /// Objects a verification checks at once (default 32, against 8 locally): enough reads in
    /// flight to fill fetch requests; each holds one object decrypted, so 32 objects of the
    /// largest chunk size (4 MiB) bound it at 128 MiB.
    package var verifyParallelism = 32

    /// What a restore should keep moving whatever the distance: about what one restore moves
    /// over loopback on this machine.
    package static let targetBytesPerSecond = 1 << 30
    /// The most bytes read ahead (at 125 ms round trips and beyond). A restore then holds at
    /// most 3.25 times this much read ahead: the look-ahead's, and each file's share (half of
    /// it for a file that starts alone, a quarter for the others, 8 files at once).
    package static let maximumReadAheadBytes = 128 << 20

    package init() {}

    /// Tuned for sites `roundTrip` away (measured by the caller: a first read of the snapshot).
    package init(roundTrip: Duration) {
        let seconds = Double(roundTrip.components.seconds) + Double(roundTrip.components.attoseconds) / 1e18
        let product = Int(seconds * Double(Self.targetBytesPerSecond))
        readAheadBytes = min(Self.maximumReadAheadBytes, max(readAheadBytes, product))
    }

    package func apply(to options: inout RestoreOptions) {
        options.parallelFiles = max(options.parallelFiles, minimumParallelFiles)
        options.readAheadBytes = max(options.readAheadBytes, readAheadBytes)
    }

    package func apply(to options: inout TreeDiffer.Options) {
        options.readAheadBytes = max(options.readAheadBytes, readAheadBytes)
    }
}
