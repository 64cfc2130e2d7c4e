import Foundation
import SkiffAgent
import SkiffSystem
import Testing

/// When the collector hands out change sets. Bounds are one-sided and wide (seconds against
/// milliseconds of work), so a slow machine cannot make them flaky: each would fail by an
/// order of magnitude under the old debounce rule.
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

    @Test func theFirstChangeOfAQuietTreeIsHandedOutOnTheLeadingEdge() async {
        let collector = ChangeCollector()
        let clock = ContinuousClock()
        let before = Date.now
        let started = clock.now
        collector.record(RawPath("/srv/a"))
        collector.record(RawPath("/srv/b"))
        let set = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(30), within: 10)
        #expect(set?.paths == [RawPath("/srv/a"), RawPath("/srv/b")])
        #expect(clock.now - started < .seconds(5), "not held back by min_interval when nothing ran before")
        let firstChange = set?.firstChange ?? 0
        #expect(firstChange >= before.timeIntervalSince1970 - 0.01 && firstChange <= Date.now.timeIntervalSince1970)
        let takenAt = Double(set?.takenAt ?? 0) / 1e9
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
        let first = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(2), within: 10)
        #expect(first != nil, "a stream of changes does not postpone the set")
        let early = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(2), within: 1)
        #expect(early == nil, "the next set waits for min_interval since the previous one")
        let second = await Self.next(collector, settle: .milliseconds(20), minInterval: .seconds(2), within: 10)
        #expect(second != nil && !(second?.paths.isEmpty ?? true))
        let apart = Double((second?.takenAt ?? 0) - (first?.takenAt ?? 0)) / 1e9
        #expect(apart >= 1.99, "sets handed out \(apart) s apart")
    }

    @Test func aRescanKeepsTheTimeOfTheChangesItStandsFor() async {
        let collector = ChangeCollector()
        let failedSetSince = Date.now.timeIntervalSince1970 - 30
        collector.requestRescan(reason: "the previous snapshot failed", since: failedSetSince)
        #expect(collector.oldestPending == failedSetSince)
        let set = await Self.next(collector, settle: .zero, minInterval: .milliseconds(10), within: 10)
        #expect(set?.rescanReason == "the previous snapshot failed" && set?.firstChange == failedSetSince)
    }

    @Test func cancellationReturnsNil() async {
        let collector = ChangeCollector()
        let waiting = Task { await collector.next(settle: .zero, minInterval: .zero) }
        waiting.cancel()
        #expect(await waiting.value == nil)
    }
}
