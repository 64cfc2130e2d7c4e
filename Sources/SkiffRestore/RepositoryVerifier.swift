import SkiffCore
import SkiffGraph
import SkiffStorage
import Synchronization

package struct VerificationReport: Sendable, Codable {
    package var sealsChecked = 0
    package var objectsChecked = 0
    package var bytesChecked = 0
    /// Objects present in the store that no seal reaches (left by interrupted backups).
    package var unreferencedObjects = 0
    package var findings: [VerificationFinding] = []

    package var isClean: Bool { findings.isEmpty }
}

/// Checks a whole repository with the restore key: every seal (signature, certificate,
/// chain) and every object reachable from every seal (address, AEAD, keyed identity, node
/// structure, chunk lengths). Each object is checked once, however many snapshots share it.
package final class RepositoryVerifier: Sendable {
    let reader: ObjectReader
    let tenant: TenantPublicKey
    let parallelism: Int
    private let checkedObjects = Atomic<Int>(0)
    /// Summaries of the tree nodes checked so far (nil: an empty node), so that nodes shared
    /// by many directories or snapshots are read once.
    private let treeSummaries = Mutex<[ObjectAddress: TreeNodeSummary?]>([:])

    package init(reader: ObjectReader, tenant: TenantPublicKey, parallelism: Int = 8) {
        self.reader = reader
        self.tenant = tenant
        self.parallelism = parallelism
    }

    /// Objects checked so far, for progress displays.
    package var progress: Int { checkedObjects.load(ordering: .relaxed) }

    enum Work: Sendable {
        case snapshot(ObjectAddress, seal: String)
        case tree(ObjectAddress, path: String)
        case contentList(ObjectAddress, path: String)
        case chunk(ObjectAddress, length: UInt64, path: String)

        var address: ObjectAddress {
            switch self {
            case .snapshot(let a, _), .tree(let a, _), .contentList(let a, _), .chunk(let a, _, _): return a
            }
        }
    }

    package func verify() async throws -> VerificationReport {
        var report = VerificationReport()
        let catalog = try await SealCatalog.load(repository: reader.repository, tenant: tenant)
        report.sealsChecked = catalog.seals.count + catalog.problems.count
        for problem in catalog.problems {
            report.findings.append(VerificationFinding(
                code: problem.kind, message: problem.description, seal: problem.involvedSeals.first.map { "\($0)" }))
        }
        var stack: [Work] = catalog.seals.reversed().map { .snapshot($0.root, seal: $0.name.short) }
        var visited = Set<ObjectAddress>()
        try await withThrowingTaskGroup(of: (Work, Result<CheckOutcome, Error>).self) { group in
            var inFlight = 0
            while !stack.isEmpty || inFlight > 0 {
                while inFlight < parallelism, let work = stack.popLast() {
                    guard visited.insert(work.address).inserted else { continue }
                    inFlight += 1
                    group.addTask {
                        do { return (work, .success(try await self.check(work))) } catch { return (work, .failure(error)) }
                    }
                }
                guard inFlight > 0, let (work, result) = try await group.next() else { continue }
                inFlight -= 1
                switch result {
                case .success(let outcome):
                    stack.append(contentsOf: outcome.work.reversed())
                    report.findings += outcome.problems.map { finding($0, work: work) }
                case .failure(let error as ObjectError):
                    report.findings.append(finding(error, work: work))
                case .failure(let error as KeyError):
                    report.findings.append(VerificationFinding(code: .wrongKey, message: "\(error)", object: work.address.hex, path: context(work)))
                case .failure(let error):
                    throw error
                }
            }
        }
        report.objectsChecked = checkedObjects.load(ordering: .relaxed)
        report.bytesChecked = reader.bytesFetched.load(ordering: .relaxed)
        let reached = visited.union(reader.sessionKeyAddresses)
        for try await address in reader.repository.objectAddresses() where !reached.contains(address) {
            report.unreferencedObjects += 1
        }
        return report
    }

    private func context(_ work: Work) -> String? {
        switch work {
        case .snapshot: return nil
        case .tree(_, let path), .contentList(_, let path), .chunk(_, _, let path): return path
        }
    }

    private func finding(_ error: ObjectError, work: Work) -> VerificationFinding {
        var seal: String?
        if case .snapshot(_, let name) = work { seal = name }
        return VerificationFinding(code: error.kind, message: error.description, object: error.address.hex, seal: seal, path: context(work))
    }

    /// What checking one work item found: the work its links lead to, and damaged objects
    /// below it that did not stop the check of the rest.
    struct CheckOutcome: Sendable {
        var work: [Work] = []
        var problems: [ObjectError] = []
    }

    /// Checks one object (for a directory, all its nodes) and returns the work its links lead to.
    private func check(_ work: Work) async throws -> CheckOutcome {
        switch work {
        case .snapshot(let address, _):
            checkedObjects.add(1, ordering: .relaxed)
            let record = try await reader.snapshot(address)
            return CheckOutcome(work: [.tree(record.root, path: "/")])
        case .tree(let address, let path):
            var outcome = CheckOutcome()
            _ = try await checkTreeNode(address, path: path, into: &outcome)
            return outcome
        case .contentList(let address, let path):
            checkedObjects.add(1, ordering: .relaxed)
            let node = try await reader.contentList(address)
            return CheckOutcome(work: node.items.compactMap { item in
                switch item {
                case .data(let length, let a): return .chunk(a, length: length, path: path)
                case .node(_, let a): return .contentList(a, path: path)
                case .hole: return nil
                }
            })
        case .chunk(let address, let length, _):
            checkedObjects.add(1, ordering: .relaxed)
            _ = try await reader.chunk(address, length: length)
            return CheckOutcome()
        }
    }

    /// Checks a directory's node at `address` and, for an index node, every node below it and
    /// the rules that tie them together (`TreeNodeSummary`). Entries' links are added to
    /// `outcome.work`. A damaged node below an index node is added to `outcome.problems` and
    /// the other nodes are still checked; the index node's own rules then cannot be checked.
    /// - Returns: the node's summary (nil when the directory is empty).
    /// - Throws: `ObjectError` for the first damaged node found (further ones are in `outcome`).
    private func checkTreeNode(_ address: ObjectAddress, path: String, into outcome: inout CheckOutcome) async throws -> TreeNodeSummary? {
        if let known = treeSummaries.withLock({ $0[address] }) { return known }
        checkedObjects.add(1, ordering: .relaxed)
        let summary: TreeNodeSummary?
        switch try await reader.treeNode(address) {
        case .entries(let entries):
            outcome.work += entries.compactMap { entry in
                let child = path == "/" ? "/" + entry.displayName : path + "/" + entry.displayName
                switch entry.content {
                case .none: return nil
                case .subtree(let a): return .tree(a, path: child)
                case .chunk(let a): return .chunk(a, length: entry.size, path: child)
                case .list(let a): return .contentList(a, path: child)
                }
            }
            summary = TreeNodeSummary(entries: entries)
        case .index(let items):
            var children: [TreeNodeSummary?] = []
            var firstProblem: ObjectError?
            for item in items {
                do {
                    children.append(try await checkTreeNode(item.address, path: path, into: &outcome))
                } catch let error as ObjectError {
                    if firstProblem == nil { firstProblem = error } else { outcome.problems.append(error) }
                }
            }
            if let firstProblem { throw firstProblem }
            summary = try reader.decode(address) { try TreeNodeSummary.combining(items, children: children) }
        }
        treeSummaries.withLock { $0[address] = .some(summary) }
        return summary
    }
}

/// The audit's check with the restore key: every object decrypted (`skiff audit --restore-key`).
package struct DecryptingCheck: KeyedCheck {
    let restoreKey: RestoreKey
    let tenant: TenantPublicKey

    package init(restoreKey: RestoreKey, tenant: TenantPublicKey) {
        self.restoreKey = restoreKey
        self.tenant = tenant
    }

    package func problems(in repository: Repository) async throws -> [VerificationFinding] {
        try await RepositoryVerifier(reader: ObjectReader(repository: repository, restoreKey: restoreKey), tenant: tenant).verify().findings
    }
}
