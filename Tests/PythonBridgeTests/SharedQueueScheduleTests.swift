import Testing

@testable import PythonBridge

/// The decisions of the schedule the Python threads share, with a clock the test moves.
@Suite("Which Python thread runs the next piece")
struct SharedQueueScheduleTests {
    /// 100 µs, in the schedule's nanoseconds.
    private static let takeover: UInt64 = 100_000

    private func schedule(threads: Int) -> SharedQueueSchedule<String> {
        SharedQueueSchedule(count: threads, takeover: Self.takeover)
    }

    private func ran(_ step: SharedQueueSchedule<String>.Step) -> String? {
        if case .run(let message, _) = step { return message }
        return nil
    }

    @Test("work queued while a short piece runs stays on the hot thread, back to back")
    func shortWorkStaysOnOneThread() {
        var schedule = schedule(threads: 4)
        let first = schedule.enqueue("a", now: 0)
        #expect(first == 0, "the first thread is woken first")
        #expect(ran(schedule.next(for: 0, now: 1)) == "a")
        // While "a" runs (young), new work wakes no thread to run it: one stands by instead.
        let standby = schedule.enqueue("b", now: 10)
        #expect(standby == 1)
        #expect(schedule.members[1] == .standby(deadline: 1 + Self.takeover))
        #expect(schedule.enqueue("c", now: 11) == nil, "one standby is enough")
        // The hot thread finishes "a" and takes "b" and "c" itself.
        #expect(ran(schedule.next(for: 0, now: 20)) == "b")
        #expect(ran(schedule.next(for: 0, now: 30)) == "c")
        // The standby wakes at its deadline, finds nothing queued, and goes back to idle.
        guard case .wait(nil) = schedule.next(for: 1, now: 1 + Self.takeover) else {
            Issue.record("the standby should wait without a deadline")
            return
        }
        #expect(schedule.members[1] == .idle)
    }

    @Test("a piece that runs past the takeover time lets the standby take the queue")
    func longPieceHandsTheQueueOver() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("sleep", now: 0)
        #expect(ran(schedule.next(for: 0, now: 0)) == "sleep")
        #expect(schedule.enqueue("next", now: 5) == 1)
        // Woken early (a stray signal): it waits on until its deadline.
        guard case .wait(let deadline?) = schedule.next(for: 1, now: 50) else {
            Issue.record("the standby should keep its deadline")
            return
        }
        #expect(deadline == Self.takeover)
        #expect(ran(schedule.next(for: 1, now: deadline)) == "next")
    }

    @Test("a standby whose running piece changed looks again at the new piece's deadline")
    func standbyRearmsBehindNewPieces() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        _ = schedule.enqueue("b", now: 1)
        _ = schedule.enqueue("c", now: 2)
        #expect(ran(schedule.next(for: 0, now: 60)) == "b", "the hot thread starts b at 60")
        guard case .wait(let deadline?) = schedule.next(for: 1, now: Self.takeover) else {
            Issue.record("the standby should wait behind b")
            return
        }
        #expect(deadline == 60 + Self.takeover)
    }

    @Test("with every thread running a long piece, new work wakes an idle one at once")
    func longPiecesWakeIdleThreads() {
        var schedule = schedule(threads: 3)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        // "a" has run past the takeover time: the next piece goes to another thread now.
        #expect(schedule.enqueue("b", now: Self.takeover + 1) == 1)
        #expect(schedule.members[1] == .woken)
        #expect(schedule.enqueue("c", now: Self.takeover + 2) == nil, "a woken thread will look again")
        #expect(ran(schedule.next(for: 1, now: Self.takeover + 3)) == "b")
    }

    @Test("no thread is woken when every thread runs")
    func allBusy() {
        var schedule = schedule(threads: 1)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        #expect(schedule.enqueue("b", now: 10 * Self.takeover) == nil)
        #expect(ran(schedule.next(for: 0, now: 10 * Self.takeover)) == "b")
    }

    @Test("stopping lets queued work finish, then ends every thread")
    func stopDrainsThenEnds() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        _ = schedule.enqueue("b", now: 1)
        #expect(schedule.stop() == [1], "the standing-by thread is woken")
        #expect(ran(schedule.next(for: 1, now: 2)) == "b")
        guard case .exit = schedule.next(for: 0, now: 3), case .exit = schedule.next(for: 1, now: 3) else {
            Issue.record("both threads should end")
            return
        }
    }
}
