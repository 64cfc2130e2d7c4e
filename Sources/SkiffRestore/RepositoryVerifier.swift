import SkiffCore
import SkiffStorage
import Synchronization

/// One problem found by `skiff verify`.
package struct VerificationFinding: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Stable code: corrupt-object, missing-object, authentication-failed, bad-signature, ...
    package var code: String
    package var message: String
    package var object: String?
    package var seal: String?
    /// Where in the snapshot the object sits ("/etc/hosts"), when known.
    package var path: String?

    package var description: String {
        var text = message
        if let path { text += " (at \(path))" }
        return text
    }
}

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
                code: problem.code, message: problem.description, seal: problem.involvedSeals.first.map { "\($0)" }))
        }
        var stack: [Work] = catalog.seals.reversed().map { .snapshot($0.root, seal: $0.name.short) }
        var visited = Set<ObjectAddress>()
        try await withThrowingTaskGroup(of: (Work, Result<[Work], Error>).self) { group in
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
                case .success(let children):
                    stack.append(contentsOf: children.reversed())
                case .failure(let error as ObjectError):
                    report.findings.append(finding(error, work: work))
                case .failure(let error as KeyError):
                    report.findings.append(VerificationFinding(code: "wrong-key", message: "\(error)", object: work.address.hex, path: context(work)))
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
        return VerificationFinding(code: error.code, message: error.description, object: error.address.hex, seal: seal, path: context(work))
    }

    /// Checks one object and returns the work its links lead to.
    private func check(_ work: Work) async throws -> [Work] {
        defer { checkedObjects.add(1, ordering: .relaxed) }
        switch work {
        case .snapshot(let address, _):
            let record = try await reader.snapshot(address)
            return [.tree(record.root, path: "/")]
        case .tree(let address, let path):
            switch try await reader.treeNode(address) {
            case .index(let items):
                return items.map { .tree($0.address, path: path) }
            case .entries(let entries):
                return entries.compactMap { entry in
                    let child = path == "/" ? "/" + entry.displayName : path + "/" + entry.displayName
                    switch entry.content {
                    case .none: return nil
                    case .subtree(let a): return .tree(a, path: child)
                    case .chunk(let a): return .chunk(a, length: entry.size, path: child)
                    case .list(let a): return .contentList(a, path: child)
                    }
                }
            }
        case .contentList(let address, let path):
            let node = try await reader.contentList(address)
            return node.items.compactMap { item in
                switch item {
                case .data(let length, let a): return .chunk(a, length: length, path: path)
                case .node(_, let a): return .contentList(a, path: path)
                case .hole: return nil
                }
            }
        case .chunk(let address, let length, _):
            _ = try await reader.chunk(address, length: length)
            return []
        }
    }
}
