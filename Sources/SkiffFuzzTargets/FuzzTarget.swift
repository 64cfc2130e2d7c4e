/// The fuzz targets: one per parser of bytes that come from outside (docs/ARCHITECTURE.md,
/// "Fuzzing"). Each takes any input and must return without crashing: a trap, an assertion
/// of one of the targets' own invariants, a sanitizer report or a huge allocation is a bug.
///
/// `Tools/fuzz.sh` runs each one under libFuzzer (the `fuzz-<name>` executables, built with
/// SKIFF_FUZZ=1); `SkiffFuzzTests` runs the checked-in corpus of each (`Tests/FuzzCorpus/<name>/`)
/// through the same functions, so every crasher kept there is a regression test.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// A stored object as a reader gets it: address, header, session key or AEAD under the
    /// fuzz test key, LZ4, keyed identity, then the body's parser for its kind.
    case object
    /// An object body sealed under the fuzz test key from the input, so mutations reach LZ4
    /// and the body parsers behind the AEAD.
    case objectBody = "object-body"
    /// Decrypted node bodies: tree nodes, content lists, snapshot records.
    case node
    /// `POST …/objects` bodies, split and checked as the site checks them.
    case bundle
    /// Fetch answers, fed to `ObjectBundleParser.fetchAnswer` in pieces and compared with one whole read.
    case fetchAnswer = "fetch-answer"
    /// Seals: decoding, canonical re-encoding, signature checks, seal names.
    case seal
    /// The host's YAML configuration file.
    case config
    /// Key files: armored and binary host keys, tenant public keys, restore keys, host
    /// certificates, and paper keys.
    case keyFile = "key-file"
    /// The site's HTTP route parameters, listing cursors and `Range` headers.
    case siteRequest = "site-request"

    /// Runs one input. Never throws and must never trap.
    /// - Returns: whether the parser accepted the input (the seed corpora must contain
    ///   accepted inputs, so that fuzzing starts from the parsers' success paths).
    @discardableResult
    package func run(_ data: UnsafeRawBufferPointer) -> FuzzOutcome {
        switch self {
        case .object: return ObjectFuzz.run(Array(data))
        case .objectBody: return ObjectBodyFuzz.run(Array(data))
        case .node: return NodeFuzz.run(Array(data))
        case .bundle: return BundleFuzz.run(data)
        case .fetchAnswer: return FetchAnswerFuzz.run(data)
        case .seal: return SealFuzz.run(Array(data))
        case .config: return ConfigFuzz.run(Array(data))
        case .keyFile: return KeyFileFuzz.run(Array(data))
        case .siteRequest: return SiteRequestFuzz.run(Array(data))
        }
    }
}
