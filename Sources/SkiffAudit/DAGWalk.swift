import Foundation
import SkiffCore
import SkiffGraph
import SkiffStorage

/// What a walk reads again and what it trusts from the audit state.
package struct WalkOptions: Sendable {
    /// Re-read this share (0...100) of the objects earlier audits verified.
    package var samplePercent: Double = 0
    /// Re-read every object, whatever the state says.
    package var deep = false

    package init(samplePercent: Double = 0, deep: Bool = false) {
        self.samplePercent = samplePercent
        self.deep = deep
    }
}

/// The result of walking the DAG of some seals at one source.
package struct WalkOutcome: Sendable {
    package var findings: [AuditFinding] = []
    /// Objects read and hashed now.
    package var objectsRead = 0
    /// Of those, objects earlier audits had verified (the random sample, or all in deep mode).
    package var objectsReread = 0
    /// Objects verified by earlier audits whose presence alone was checked now.
    package var objectsTrusted = 0
    package var bytesRead = 0
    /// Missing or damaged objects, by address.
    package var damaged: Set<ObjectAddress> = []
    /// Seals whose whole DAG is present and intact here.
    package var completeSeals: Set<Digest256> = []
}

/// Walks the Merkle DAG below seals without any key: every reachable object must exist and
/// hash to its address, and its clear header must parse (that is where the links are).
///
/// Breadth-first through the shared `DAGTraversal`, one level at a time, in pages: objects the audit state knows are only
/// checked for presence (one batch query per page) unless sampled or deep; the rest are read
/// in parallel. When an object is missing or damaged and a `fallback` source is given (heal),
/// its links are read there so that the walk still reaches everything below it.
struct DAGWalk {
    let source: AuditSource
    let state: AuditState
    let options: WalkOptions
    let fallback: AuditSource?

    private struct Item {
        let address: ObjectAddress
        /// From the root down to the parent.
        let path: [ObjectAddress]
        let seal: Int
    }

    enum ReadResult {
        case intact(links: [ObjectAddress], size: Int, kind: ObjectKind)
        case missing
        case damaged(String)
    }

    static let pageSize = 2000

    /// Walks the DAGs of `seals`. Throws only when the source cannot be read at all
    /// (unreachable, refused); everything wrong with the data is a finding.
    func run(_ seals: [Seal], progress: @Sendable (Int) -> Void = { _ in }) async throws -> WalkOutcome {
        var outcome = WalkOutcome()
        var nodeLinks: [ObjectAddress: [ObjectAddress]] = [:]
        var traversal = DAGTraversal()
        try await traversal.walk(from: seals.enumerated().map { Item(address: $1.root, path: [], seal: $0) }, address: \.address,
                                 pageSize: Self.pageSize) { page in
            let known = options.deep ? [:] : try state.verified(page.map(\.address), source: source.stateKey)
            var trusted: [Item] = []
            var toRead: [Item] = []
            for item in page {
                if known[item.address] != nil, options.samplePercent <= 0 || Double.random(in: 0..<100) >= options.samplePercent {
                    trusted.append(item)
                } else {
                    toRead.append(item)
                }
            }
            outcome.objectsReread += toRead.count(where: { known[$0.address] != nil })
            let absent = try await source.missing(trusted.map(\.address))
            var verified: [(address: ObjectAddress, links: [ObjectAddress])] = []
            var linksOf: [ObjectAddress: [ObjectAddress]] = [:]
            for item in trusted {
                linksOf[item.address] = known[item.address]
                if absent.contains(item.address) {
                    outcome.damaged.insert(item.address)
                    outcome.findings.append(finding(.missingObject, item, seals, "the object is not here (an earlier audit verified it)"))
                }
            }
            outcome.objectsTrusted += trusted.count - absent.count
            for (item, result) in zip(toRead, try await read(toRead.map(\.address), from: source)) {
                switch result {
                case .intact(let links, let size, let kind):
                    if item.path.isEmpty, kind != .snapshot {
                        outcome.findings.append(finding(.implausibleSeal, item, seals, "the seal's root is a \(kind) object, not a snapshot"))
                    }
                    outcome.objectsRead += 1
                    outcome.bytesRead += size
                    verified.append((item.address, links))
                    linksOf[item.address] = links
                case .missing:
                    outcome.damaged.insert(item.address)
                    outcome.findings.append(finding(.missingObject, item, seals, "the object is not here"))
                    linksOf[item.address] = try await fallbackLinks(item.address)
                case .damaged(let why):
                    outcome.objectsRead += 1
                    outcome.damaged.insert(item.address)
                    outcome.findings.append(finding(.corruptObject, item, seals, why))
                    linksOf[item.address] = try await fallbackLinks(item.address)
                }
            }
            try state.markVerified(verified, source: source.stateKey)
            try state.forget(page.map(\.address).filter { outcome.damaged.contains($0) }, source: source.stateKey)
            var next: [Item] = []
            for item in page {
                guard let links = linksOf[item.address], !links.isEmpty else { continue }
                nodeLinks[item.address] = links
                let path = item.path + [item.address]
                next += links.map { Item(address: $0, path: path, seal: item.seal) }
            }
            progress(outcome.objectsRead + outcome.objectsTrusted)
            return next
        }
        outcome.completeSeals = Set(completeSeals(seals, nodeLinks: nodeLinks, damaged: outcome.damaged))
        return outcome
    }

    private func finding(_ kind: AuditFinding.Kind, _ item: Item, _ seals: [Seal], _ message: String) -> AuditFinding {
        AuditFinding(kind, source: source.name, seals: [seals[item.seal].name.short], object: item.address, dagPath: item.path,
                     message: "object \(item.address.hex.prefix(16))…: \(message)")
    }

    /// Reads and checks objects, `source.concurrentReads()` at a time, results in input order.
    private func read(_ addresses: [ObjectAddress], from source: AuditSource) async throws -> [ReadResult] {
        var results = [ReadResult?](repeating: nil, count: addresses.count)
        let width = await source.concurrentReads()
        try await withThrowingTaskGroup(of: (Int, ReadResult).self) { group in
            var next = 0
            func add() {
                let index = next
                let address = addresses[index]
                next += 1
                group.addTask { (index, try await Self.check(address, in: source.repository)) }
            }
            while next < min(width, addresses.count) { add() }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < addresses.count { add() }
            }
        }
        return results.map { $0! }
    }

    /// Reads one object: missing, damaged (with why), or intact with its links and kind.
    static func check(_ address: ObjectAddress, in repository: Repository) async throws -> ReadResult {
        let bytes: [UInt8]
        do { bytes = try await repository.objectBytes(address) } catch ObjectError.missing {
            return .missing
        }
        let actual = SHA256Hasher.digest(bytes)
        guard actual == address.digest else {
            return .damaged("its \(bytes.count) bytes hash to \(actual.hex.prefix(16))…, not to its address")
        }
        do {
            let header = try ObjectHeader.parse(bytes)
            return .intact(links: header.links, size: bytes.count, kind: header.kind)
        } catch let error as FormatError {
            return .damaged("its header does not parse: \(error)")
        }
    }

    /// The links of an object read from the fallback source, if it has an intact copy.
    private func fallbackLinks(_ address: ObjectAddress) async throws -> [ObjectAddress]? {
        guard let fallback else { return nil }
        if case .intact(let links, _, _) = try await Self.check(address, in: fallback.repository) { return links }
        return nil
    }

    /// The seals from whose root no damaged object can be reached (memoized over nodes).
    private func completeSeals(_ seals: [Seal], nodeLinks: [ObjectAddress: [ObjectAddress]], damaged: Set<ObjectAddress>) -> [Digest256] {
        guard !damaged.isEmpty else { return seals.map(\.hash) }
        var reachesDamage: [ObjectAddress: Bool] = [:]
        func bad(_ root: ObjectAddress) -> Bool {
            // Iterative post-order: a node is bad if it is damaged or any link is bad.
            var stack: [(ObjectAddress, Bool)] = [(root, false)]
            while let (address, expanded) = stack.popLast() {
                if reachesDamage[address] != nil { continue }
                let links = nodeLinks[address] ?? []
                if damaged.contains(address) {
                    reachesDamage[address] = true
                } else if expanded || links.isEmpty {
                    reachesDamage[address] = links.contains { reachesDamage[$0] ?? damaged.contains($0) }
                } else {
                    stack.append((address, true))
                    for link in links where reachesDamage[link] == nil { stack.append((link, false)) }
                }
            }
            return reachesDamage[root] ?? false
        }
        return seals.filter { !bad($0.root) }.map(\.hash)
    }
}
