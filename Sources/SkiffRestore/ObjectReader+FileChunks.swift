import SkiffCore
import SkiffSystem

extension ObjectReader {
    /// The data and hole runs of a regular file, which must cover exactly its size.
    /// - Throws: `RestoreError.object` naming `display` for a damaged content list,
    ///   `RestoreError.sizeMismatch` when the runs cover another size.
    func runs(of entry: TreeEntry, display: String) async throws -> [FileRun] {
        let runs: [FileRun]
        do { runs = try await fileRuns(entry.content, size: entry.size) } catch let error as ObjectError {
            throw RestoreError.object(path: display, error)
        }
        let covered = runs.reduce(UInt64(0)) { $0 + $1.length }
        guard covered == entry.size else { throw RestoreError.sizeMismatch(path: display, expected: entry.size, actual: covered) }
        return runs
    }

    /// Reads the chunks of a file's data runs, up to `parallel` at once, and hands each chunk's
    /// checked plaintext to `handle` in a child task (several run at once, in no set order);
    /// `collect` receives each result on the calling task and returns false to stop early:
    /// runs not started yet are skipped and those in flight are cancelled.
    ///
    /// With `readAheadBytes` > 0 the next runs, up to that many bytes beyond those being
    /// handled, are prefetched together (one request to a site), topped up once half of them
    /// were used (topping up by the chunk would make a request per chunk); what was prefetched
    /// but not read is dropped on return. With `slots`, every read holds one of its permits
    /// until its `handle` returned, which bounds the chunks in memory across many files.
    /// - Throws: `RestoreError.object` naming `display` when no source holds a good copy of a
    ///   chunk; what `handle` or `collect` throw.
    func forEachChunk<T: Sendable>(of dataRuns: [FileRun], parallel: Int, readAheadBytes: Int, slots: AsyncSemaphore? = nil,
                                   display: String, handle: @escaping @Sendable (FileRun, [UInt8]) async throws -> T,
                                   collect: (T) throws -> Bool) async throws {
        var readAheadEnd = 0
        var readAheadPending: UInt64 = 0
        defer { if readAheadEnd > 0 { discardPrefetched(dataRuns[..<readAheadEnd].compactMap(\.chunk)) } }
        try await withThrowingTaskGroup(of: T.self) { group in
            var next = 0
            var inFlight = 0
            while next < dataRuns.count || inFlight > 0 {
                if readAheadBytes > 0 && readAheadPending <= UInt64(readAheadBytes / 2) {
                    let start = readAheadEnd
                    while readAheadEnd < dataRuns.count && readAheadPending < UInt64(readAheadBytes) {
                        readAheadPending += dataRuns[readAheadEnd].length
                        readAheadEnd += 1
                    }
                    if readAheadEnd > start { prefetch(dataRuns[start..<readAheadEnd].map { ($0.chunk!, Int($0.length)) }) }
                }
                while inFlight < max(1, parallel) && next < dataRuns.count {
                    let run = dataRuns[next]
                    if next < readAheadEnd { readAheadPending -= run.length }
                    next += 1
                    inFlight += 1
                    group.addTask {
                        await slots?.acquire()
                        defer { slots?.release() }
                        let bytes: [UInt8]
                        do { bytes = try await self.chunk(run.chunk!, length: run.length) } catch let error as ObjectError {
                            throw RestoreError.object(path: display, error)
                        }
                        return try await handle(run, bytes)
                    }
                }
                if let result = try await group.next() {
                    inFlight -= 1
                    if try !collect(result) {
                        group.cancelAll()
                        return
                    }
                }
            }
        }
    }
}
