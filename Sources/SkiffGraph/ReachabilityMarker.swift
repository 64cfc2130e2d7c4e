import SkiffCore
import SkiffStorage
import SkiffSystem

/// The mark phase of a keyless collection (docs/FORMAT.md §10, G2 and G5): the DAG traversal
/// (`DAGTraversal`) from roots with header reads as its visit, several at a time, following the
/// clear links (children and session key) and nothing else.
///
/// Memory is the set of marked addresses (32 bytes each) and one frontier. An object that
/// cannot be read (missing, or a header that does not parse) is recorded in `unreadable`, not
/// thrown: the caller decides (a collection deletes nothing then, G5).
package struct ReachabilityMarker {
    package let repository: Repository
    /// Header reads in flight.
    package let parallelReads: Int
    private var traversal = DAGTraversal()
    /// Every address marked so far.
    package var marked: Set<ObjectAddress> { traversal.visited }
    package private(set) var unreadable: [ObjectAddress] = []
    /// File names of the seals already marked, so that marking seals again adds only new ones.
    private var markedSeals = Set<String>()

    /// Headers read together by one lane.
    static let headerBatch = 1024

    package init(repository: Repository, parallelReads: Int = 8) {
        self.repository = repository
        self.parallelReads = parallelReads
    }

    /// Marks what the root seals reach, listed from the store (not an index: a seal written
    /// just before a crash may not be indexed yet), and again until no new seal appears, so that
    /// seals written while it marks are marked too. Returns how many seals it marked.
    /// - Throws: `CollectionError.unreadableSeal` when a root seal cannot be read.
    package mutating func markSeals(horizonSeconds: Int) async throws -> Int {
        var count = 0
        while true {
            let seals = try await Self.rootSeals(repository, horizonSeconds: horizonSeconds)
                .filter { markedSeals.insert($0.name.fileName).inserted }
            guard !seals.isEmpty else { return count }
            count += seals.count
            try await mark(seals.map(\.root))
        }
    }

    /// Marks every object reachable from `roots` (the roots included) that is not marked yet.
    package mutating func mark(_ roots: [ObjectAddress]) async throws {
        let repository = self.repository
        let lanes = parallelReads
        var unreadable: [ObjectAddress] = []
        // Pages are large: a page's header reads run in `lanes` lanes, and each page ends with
        // a wait for its slowest lane.
        try await traversal.walk(from: roots, pageSize: 1 << 16) { page in
            let results = try await withThrowingTaskGroup(of: ([ObjectAddress], [ObjectAddress]).self) { group in
                for slice in laneSlices(page, lanes: lanes) {
                    group.addTask {
                        var links: [ObjectAddress] = []
                        var unreadable: [ObjectAddress] = []
                        // Batches: one index read each, and a packed store reads the headers it
                        // keeps no links for with neighbouring ones together.
                        for start in stride(from: 0, to: slice.count, by: Self.headerBatch) {
                            let batch = Array(slice.dropFirst(start).prefix(Self.headerBatch))
                            for (address, known) in zip(batch, try await repository.objectLinks(batch)) {
                                switch known {
                                case .success(let known): links += known.all
                                case .failure: unreadable.append(address)
                                }
                            }
                        }
                        return (links, unreadable)
                    }
                }
                var all: [([ObjectAddress], [ObjectAddress])] = []
                for try await result in group { all.append(result) }
                return all
            }
            unreadable += results.flatMap(\.1)
            return results.flatMap(\.0)
        }
        self.unreadable += unreadable
    }

    /// Retained seals, and retired seals within `horizonSeconds` of their host's newest seal,
    /// read from the store (a local repository has no retired seals: every seal is a root).
    /// - Throws: `CollectionError.unreadableSeal` when one cannot be read: its objects cannot be
    ///   known.
    package static func rootSeals(_ repository: Repository, horizonSeconds: Int) async throws -> [Seal] {
        func read(_ names: [SealName], retired: Bool) async throws -> [Seal] {
            var seals: [Seal] = []
            for name in names {
                do {
                    seals.append(try await repository.seal(named: name, retired: retired))
                } catch StoreError.notFound {
                    continue  // retired or collected meanwhile; the other listing has it
                } catch {
                    throw CollectionError.unreadableSeal(name, reason: "\(error)")
                }
            }
            return seals
        }
        let retained = try await read(try await repository.sealNames(), retired: false)
        let retired = try await read(try await repository.retiredSealNames(), retired: true)
        let newest = Dictionary((retained + retired).map { ($0.hostName, $0.time.unixNanoseconds) }, uniquingKeysWith: max)
        let horizon = Int64(horizonSeconds) * 1_000_000_000
        return retained + retired.filter { $0.time.unixNanoseconds >= newest[$0.hostName]! - horizon }
    }
}
