import BatchJobs
import Testing

@Suite("batch progress lines")
struct ProgressLineTests {
    private let halfway = BatchProgress.Snapshot(
        finishedThisRun: 300, failedThisRun: 2, skipped: 200, previouslyDone: 200, previouslyFailed: 1, total: 1000,
        elapsed: .seconds(3))

    @Test("a terminal's bar: done of total with earlier runs' inputs, this run's rate, ETA, failures")
    func bar() {
        #expect(halfway.barLine == "[############             ]  50%  500/1000  100/s  ETA 0:05  failures 3")
    }

    @Test("the plain line, and both without a total (standard input)")
    func plain() {
        #expect(halfway.plainLine == "batch: 500/1000 done (50%), 100/s, ETA 0:05, 3 failed")
        var unknown = halfway
        unknown.total = nil
        #expect(unknown.plainLine == "batch: 500 done, 100/s, 3 failed")
        #expect(unknown.barLine == "500 done  100/s  failures 3")
    }

    @Test("counters count; an hour or more of ETA shows hours")
    func counters() {
        let progress = BatchProgress(total: 1_000_000, previouslyDone: 0, previouslyFailed: 0, start: .now)
        progress.finished([true])
        progress.skipped()
        let snapshot = progress.snapshot(at: progress.start + .seconds(1))
        #expect(snapshot.done == 1 && snapshot.failed == 1 && snapshot.skipped == 1)
        #expect(snapshot.plainLine == "batch: 1/1000000 done (0%), 1/s, ETA 277:46:39, 1 failed")
    }
}
