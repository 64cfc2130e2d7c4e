// swift-tools-version:6.2
import PackageDescription

/// Layers point one way: C shims <- SkiffCore (format, no I/O) <- SkiffSystem <- storage, configuration, protocol
/// <- SkiffGraph <- services <- executables. Tools/check-layering enforces it (docs/ARCHITECTURE.md).
let package = Package(
    name: "Skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff", targets: ["skiff"]),
        .executable(name: "skiff-site", targets: ["skiff-site"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Only FullFoundation: the default ConfigurationSupport trait pulls in swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, reached through pkg-config.
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),

        // Format core: chunking, objects, keys, Merkle nodes, seals. No network or filesystem I/O.
        .target(
            name: "SkiffCore",
            dependencies: ["CLibCrypto", "CLZ4"]
        ),
        // Linux calls that Swift's Glibc module does not import (they need _GNU_SOURCE).
        .target(name: "CSkiffSystem"),
        // Thin POSIX wrappers shared by the layers that touch the filesystem.
        .target(name: "SkiffSystem", dependencies: ["CSkiffSystem"]),
        // The storage protocol, the filesystem store and the typed repository view over a store.
        .target(
            name: "SkiffStorage",
            dependencies: ["SkiffCore", "SkiffSystem", "CSkiffSystem", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // One conformance suite that every storage implementation runs.
        .target(
            name: "SkiffStorageConformance",
            dependencies: ["SkiffStorage", "SkiffCore"]
        ),
        // Snapshot writer: walking, chunking pipeline, Merkle tree building, sealing, local cache.
        .target(
            name: "SkiffBackup",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffGraph", "CSkiffSystem",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The keyless graph of seals and objects, read side: the seal catalog, the one traversal
        // of the Merkle DAG through clear links, the keyless collection (mark and sweep) that
        // sites and `skiff prune` share, time formatting. Below backup, restore, audit and site.
        .target(
            name: "SkiffGraph",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage"]
        ),
        // Snapshot reader with the restore key: decrypting, verifying, restoring.
        .target(
            name: "SkiffRestore",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffGraph", "CSkiffSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Self-signed server certificates through libcrypto, for `skiff-site init`.
        .target(name: "CSkiffTLS", dependencies: ["CLibCrypto"]),
        // The site protocol's paths and JSON bodies, shared by server and client.
        .target(name: "SkiffSiteProtocol", dependencies: ["SkiffCore"]),
        // The site server: tenants, tokens, verified uploads, seal acceptance, over HTTPS.
        .target(
            name: "SkiffSite",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffGraph", "SkiffSiteProtocol", "CSkiffTLS",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // The HTTPS client of a site, as an ObjectStore plus the site's own verbs.
        .target(
            name: "SkiffSiteClient",
            dependencies: [
                "SkiffCore", "SkiffStorage", "SkiffSiteProtocol", "CSkiffTLS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The storage protocol on S3-compatible object storage (SigV4 over AsyncHTTPClient).
        .target(
            name: "SkiffS3",
            dependencies: [
                "SkiffCore", "SkiffStorage", "SkiffSystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // One pass to many sites: the durable outbox, per-site senders, quorum.
        .target(
            name: "SkiffReplication",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffGraph", "SkiffSiteClient", "SkiffSiteProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The real-time agent: inotify, change sets, continuous delivery, systemd notification.
        .target(
            name: "SkiffAgent",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffGraph", "SkiffReplication", "SkiffConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Keyless audit of sites (signatures, chains, Merkle DAGs, cross-site agreement), healing.
        .target(
            name: "SkiffAudit",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffGraph", "SkiffSiteProtocol", "SkiffSiteClient",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The host's configuration file (YAML), with errors that name file, line and key.
        .target(
            name: "SkiffConfig",
            dependencies: ["SkiffCore", .product(name: "Yams", package: "Yams")]
        ),
        // Shared by the test targets: temporary folders, tree generation and comparison, keys.
        .target(
            name: "SkiffTestSupport",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage"],
            path: "Tests/Support"
        ),
        // Shared by the fast tests of sites, senders and audits: a site in the test process (the
        // real SiteService over memory stores, no HTTP) and a SiteConnection to it.
        .target(
            name: "SkiffSiteTestSupport",
            dependencies: [
                "SkiffCore", "SkiffStorage", "SkiffSite", "SkiffSiteClient", "SkiffSiteProtocol", "SkiffTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SiteSupport"
        ),
        // The `skiff` command line for hosts and administrators: one file per subcommand.
        .executableTarget(
            name: "skiff",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffGraph", "SkiffRestore", "SkiffConfig",
                "SkiffSiteClient", "SkiffReplication", "SkiffAudit", "SkiffSiteProtocol", "SkiffAgent", "CSkiffSystem",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The site server executable: one file per subcommand.
        .executableTarget(
            name: "skiff-site",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffGraph", "SkiffSite", "SkiffSiteProtocol", "SkiffS3",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Builds a site holding many objects for the garbage-collection benchmark (Tools/README.md).
        .executableTarget(
            name: "skiff-gc-fixture",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffSite", "SkiffSiteProtocol", .product(name: "Logging", package: "swift-log")],
            path: "Tools/gcfixture"
        ),
        // One function per fuzz target: every parser of outside bytes, fed any input, must not crash.
        .target(
            name: "SkiffFuzzTargets",
            dependencies: ["SkiffCore", "SkiffSiteProtocol", "SkiffConfig"]
        ),
        // Writes the fuzz seed corpora (Tests/FuzzCorpus) from a real backup (Tools/README.md).
        .executableTarget(
            name: "skiff-fuzz-seeds",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffGraph", "SkiffRestore", "SkiffSiteProtocol", "SkiffFuzzTargets",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/fuzz/seeds"
        ),
        // Release-mode micro benchmarks of the hot path (Tools/README.md).
        .executableTarget(
            name: "skiff-microbench",
            dependencies: ["SkiffCore", "SkiffSystem", "CLibCrypto", "CLZ4"],
            path: "Tools/microbench"
        ),
        // The pack index at scale (docs/SCALE.md): inserts, lookups, vouches and sweeps over N objects.
        .executableTarget(
            name: "skiff-scale-bench",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage"],
            path: "Tools/scalebench"
        ),
        .testTarget(name: "SkiffCoreTests", dependencies: ["SkiffCore", "SkiffTestSupport"]),
        // Runs every checked-in fuzz seed and crasher (Tests/FuzzCorpus) through its target.
        .testTarget(name: "SkiffFuzzTests", dependencies: ["SkiffFuzzTargets"]),
        .testTarget(name: "SkiffS3Tests", dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffStorageConformance", "SkiffS3", "SkiffTestSupport"]),
        .testTarget(
            name: "SkiffStorageTests",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffStorageConformance", "SkiffTestSupport"]
        ),
        .testTarget(
            name: "SkiffBackupTests",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffGraph", "SkiffRestore", "SkiffTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SkiffSiteTests",
            dependencies: [
                "skiff", "skiff-site", "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffStorageConformance", "SkiffSiteClient", "SkiffSiteProtocol", "SkiffAudit",
                "SkiffGraph", "SkiffSite", "SkiffSiteTestSupport", "SkiffReplication",
                "SkiffTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Outbox and SiteSender in the test process, against an in-process site: milliseconds each.
        .testTarget(
            name: "SkiffReplicationTests",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffSite", "SkiffSiteClient", "SkiffSiteProtocol", "SkiffReplication",
                "SkiffSiteTestSupport", "SkiffTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent's parts that need no site: when change sets are handed out.
        .testTarget(name: "SkiffAgentTests", dependencies: ["SkiffAgent", "SkiffSystem"]),
        // DAGWalk and Auditor over memory stores: milliseconds each.
        .testTarget(
            name: "SkiffAuditTests",
            dependencies: ["SkiffCore", "SkiffStorage", "SkiffGraph", "SkiffAudit", "SkiffTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SkiffCLITests",
            dependencies: ["skiff", "SkiffCore", "SkiffSystem", "SkiffConfig", "SkiffTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)

/// The libFuzzer executables, one per `FuzzTarget`, exist only for `Tools/fuzz.sh`, which builds
/// them with SKIFF_FUZZ=1 and the fuzzer and address sanitizers into `.build-fuzz`. Each is one
/// file exporting `LLVMFuzzerTestOneInput` (libFuzzer supplies `main`).
let fuzzTargets = ["object", "object-body", "node", "bundle", "fetch-answer", "seal", "config", "key-file", "site-request"]
if Context.environment["SKIFF_FUZZ"] == "1" {
    for name in fuzzTargets {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["SkiffFuzzTargets"], path: "Tools/fuzz/targets/\(name)"))
    }
}
