// swift-tools-version:6.2
import PackageDescription

/// Layers point one way: SkiffCore (format, no I/O) <- SkiffStorage <- SkiffBackup / SkiffRestore <- executables.
let package = Package(
    name: "Skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff", targets: ["skiff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
            dependencies: ["SkiffCore", "SkiffSystem"]
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
                "SkiffCore", "SkiffSystem", "SkiffStorage", "CSkiffSystem",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Snapshot reader: selecting, verifying, restoring.
        .target(
            name: "SkiffRestore",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "CSkiffSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets: temporary folders, tree generation and comparison, keys.
        .target(
            name: "SkiffTestSupport",
            dependencies: ["SkiffCore", "SkiffSystem"],
            path: "Tests/Support"
        ),
        // The `skiff` command line for hosts and administrators: one file per subcommand.
        .executableTarget(
            name: "skiff",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffRestore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Release-mode micro benchmarks of the hot path (Tools/README.md).
        .executableTarget(
            name: "skiff-microbench",
            dependencies: ["SkiffCore", "SkiffSystem", "CLibCrypto", "CLZ4"],
            path: "Tools/microbench"
        ),
        .testTarget(name: "SkiffCoreTests", dependencies: ["SkiffCore", "SkiffTestSupport"]),
        .testTarget(
            name: "SkiffStorageTests",
            dependencies: ["SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffStorageConformance", "SkiffTestSupport"]
        ),
        .testTarget(
            name: "SkiffBackupTests",
            dependencies: [
                "SkiffCore", "SkiffSystem", "SkiffStorage", "SkiffBackup", "SkiffRestore", "SkiffTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SkiffCLITests",
            dependencies: ["skiff", "SkiffCore", "SkiffSystem", "SkiffTestSupport"]
        ),
    ]
)
