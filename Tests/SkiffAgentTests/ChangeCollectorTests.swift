import Foundation
import SkiffAgent
import SkiffSystem
import Testing

/// When the collector hands out change sets: the rule itself as arithmetic, and the collector
/// under a stream of changes with lower bounds only (a busy machine delays a wake-up, never
/// advances it).
@Suite struct ChangeCollectorTests {
    /// The next change set, or nil when none came within `seconds`.
    static func next(_ collector: ChangeCollector, settle: Duration, minInterval: Duration, within seconds: Double) async -> ChangeCollector.ChangeSet? {
        await withTaskGroup(of: ChangeCollector.ChangeSet?.self) { group in
            group.addTask { await collector.next(settle: settle, minInterval: minInterval) }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test func aSetIsDueOnTheLeadingEdgeAndAtMostOncePerMinInterval() {
        let first = ContinuousClock.now
        let settle = Duration.milliseconds(50), minInterval = Duration.milliseconds(500)
        #expect(ChangeCollector.due(first: first, handedOut: nil, settle: settle, minInterval: minInterval) == first + settle,
                "the first change of a quiet tree waits only for its companions")
        #expect(ChangeCollector.due(first: first, handedOut: first - .seconds(10), settle: settle, minInterval: minInterval) == first + settle,
                "a set long after the previous one is not held back")
        #expect(ChangeCollector.due(first: first, handedOut: first - .milliseconds(100), settle: settle, minInterval: minInterval)
                == first + .milliseconds(400), "a change right after a set waits for min_interval")
    }

    @Test func aSetHoldsEveryChangeSeenBeforeItWasHandedOut() async {
        let collector = ChangeCollector()
        let before = Date.now
        collector.record(RawPath("/srv/a"))
        collector.record(RawPath("/srv/b"))
        let set = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(30), within: 60)
        #expect(set?.paths == [RawPath("/srv/a"), RawPath("/srv/b")])
        let firstChange = set?.firstChange ?? 0
        #expect(firstChange >= before.timeIntervalSince1970 - 0.01 && firstChange <= Date.now.timeIntervalSince1970)
        let takenAt = Double(set?.takenAt.unixNanoseconds ?? 0) / 1e9
        #expect(takenAt >= firstChange && takenAt <= Date.now.timeIntervalSince1970, "handed out after its first change, before now")
        #expect(!collector.hasPending && collector.oldestPending == nil)
    }

    @Test func aSteadyStreamStillGetsChangeSetsAndAtMostOnePerMinInterval() async {
        let collector = ChangeCollector()
        let writer = Task {
            var n = 0
            while !Task.isCancelled {
                collector.record(RawPath("/srv/f\(n % 50)"))
                n += 1
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        defer { writer.cancel() }
        // Changes never stop for 20 ms (a quiet-window rule would wait forever), yet sets come.
        let first = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(2), within: 60)
        #expect(first != nil, "a stream of changes does not postpone the set")
        let second = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(2), within: 60)
        #expect(second != nil && !(second?.paths.isEmpty ?? true))
        let apart = Double((second?.takenAt.unixNanoseconds ?? 0) - (first?.takenAt.unixNanoseconds ?? 0)) / 1e9
        #expect(apart >= 1.99, "sets handed out \(apart) s apart")
    }

    @Test func aRescanKeepsTheTimeOfTheChangesItStandsFor() async {
        let collector = ChangeCollector()
        let failedSetSince = Date.now.timeIntervalSince1970 - 30
        collector.requestRescan(reason: "the previous snapshot failed", since: failedSetSince)
        #expect(collector.oldestPending == failedSetSince)
        let set = await Self.next(collector, settle: .zero, minInterval: .milliseconds(10), within: 60)
        #expect(set?.rescanReason == "the previous snapshot failed" && set?.firstChange == failedSetSince)
    }

    @Test func cancellationReturnsNil() async {
        let collector = ChangeCollector()
        let waiting = Task { await collector.next(settle: .zero, minInterval: .zero) }
        waiting.cancel()
        #expect(await waiting.value == nil)
    }
}
