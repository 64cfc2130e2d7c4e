/// How restores and comparisons read a snapshot from sites over the network rather than from a
/// local repository: each read costs a round trip there, so reads are gathered and overlapped.
///
/// Local repositories need none of it: leave `RestoreOptions` and `TreeDiffer.Options` as they
/// are. `apply` only raises what it tunes, so options set higher stay as set.
package struct RemoteTuning: Sendable, Equatable {
    /// Files restored at once, at least (default 8): more than cores, to hide round trips.
    package var minimumParallelFiles = 8
    /// Bytes read ahead (default 32 MiB): reads made together go out in one request
    /// (`RestoreOptions.readAheadBytes`, `TreeDiffer.Options.readAheadBytes`).
    package var readAheadBytes = 32 << 20

    /// Objects a verification checks at once (default 32, against 8 locally): enough reads in
    /// flight to fill fetch requests; each holds one object decrypted, so 32 objects of the
    /// largest chunk size (4 MiB) bound it at 128 MiB.
    package var verifyParallelism = 32

    package init() {}

    package func apply(to options: inout RestoreOptions) {
        options.parallelFiles = max(options.parallelFiles, minimumParallelFiles)
        options.readAheadBytes = max(options.readAheadBytes, readAheadBytes)
    }

    package func apply(to options: inout TreeDiffer.Options) {
        options.readAheadBytes = max(options.readAheadBytes, readAheadBytes)
    }
}
