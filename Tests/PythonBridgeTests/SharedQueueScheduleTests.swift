import Testing

@testable import PythonBridge

/// The decisions of the schedule the Python threads share, with a clock the test moves.
@Suite("Which Python thread runs the next piece")
struct SharedQueueScheduleTests {
    /// 100 µs, in the schedule's nanoseconds.
    private static let takeover: UInt64 = 100_000
    /// 1 ms.
    private static let busyTakeover: UInt64 = 1_000_000

    private func schedule(threads: Int) -> SharedQueueSchedule<String> {
        SharedQueueSchedule(count: threads, takeover: Self.takeover, busyTakeover: Self.busyTakeover)
    }

    private func ran(_ step: SharedQueueSchedule<String>.Step) -> String? {
        if case .run(let message, _) = step { return message }
        return nil
    }

    private func deadline(_ step: SharedQueueSchedule<String>.Step) -> UInt64? {
        if case .wait(let deadline) = step { return deadline }
        return nil
    }

    @Test("work queued while a short piece runs stays on the hot thread, back to back")
    func shortWorkStaysOnOneThread() {
        var schedule = schedule(threads: 4)
        let first = schedule.enqueue("a", now: 0)
        #expect(first == 0, "the first thread is woken first")
        #expect(ran(schedule.next(for: 0, now: 1)) == "a")
        // While "a" runs (young), new work wakes no thread to run it: one stands by instead, at
        // the slow pace while no piece has been long.
        let standby = schedule.enqueue("b", now: 10)
        #expect(standby == 1)
        #expect(schedule.members[1] == .standby(deadline: 1 + Self.busyTakeover))
        #expect(schedule.enqueue("c", now: 11) == nil, "one standby is enough")
        // The hot thread finishes "a" and takes "b" and "c" itself.
        #expect(ran(schedule.next(for: 0, now: 20)) == "b")
        #expect(ran(schedule.next(for: 0, now: 30)) == "c")
        guard case .wait(nil) = schedule.next(for: 0, now: 40) else {
            Issue.record("the hot thread should wait without a deadline once the queue is empty")
            return
        }
        // The standby wakes at its deadline, finds nothing queued, and goes back to idle.
        guard case .wait(nil) = schedule.next(for: 1, now: 1 + Self.busyTakeover) else {
            Issue.record("the standby should wait without a deadline")
            return
        }
        #expect(schedule.members[1] == .idle)
        // The next burst goes to the thread that ran the last one, not to the standby.
        #expect(schedule.enqueue("d", now: 2 * Self.busyTakeover) == 0)
    }

    @Test("a piece that runs past its time lets the standby take the queue")
    func longPieceHandsTheQueueOver() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("sleep", now: 0)
        #expect(ran(schedule.next(for: 0, now: 0)) == "sleep")
        #expect(schedule.enqueue("next", now: 5) == 1)
        // Woken early (a stray signal): it waits on until its deadline.
        let early = deadline(schedule.next(for: 1, now: 50))
        #expect(early == Self.busyTakeover)
        #expect(ran(schedule.next(for: 1, now: Self.busyTakeover)) == "next")
    }

    @Test("a standby whose running piece changed looks again at the new piece's deadline")
    func standbyRearmsBehindNewPieces() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        _ = schedule.enqueue("b", now: 1)
        _ = schedule.enqueue("c", now: 2)
        let started = Self.busyTakeover - 10
        #expect(ran(schedule.next(for: 0, now: started)) == "b", "the hot thread starts b just before the deadline")
        #expect(deadline(schedule.next(for: 1, now: Self.busyTakeover)) == started + Self.busyTakeover)
    }

    @Test("with every thread running a long piece, new work wakes an idle one at once")
    func longPiecesWakeIdleThreads() {
        var schedule = schedule(threads: 3)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        // "a" has run past the takeover time, its thread off the CPU: the next piece goes to
        // another thread now.
        #expect(schedule.enqueue("b", now: Self.takeover + 1) == 1)
        #expect(schedule.members[1] == .woken)
        #expect(schedule.enqueue("c", now: Self.takeover + 2) == nil, "a woken thread will look again")
        #expect(ran(schedule.next(for: 1, now: Self.takeover + 3)) == "b")
    }

    @Test("a piece whose thread stays on a CPU keeps the queue until the busy takeover time")
    func busyPieceKeepsTheQueue() {
        var schedule = schedule(threads: 2)
        let onCPU: (Int) -> Bool = { _ in true }
        _ = schedule.enqueue("compute", now: 0, onCPU: onCPU)
        _ = schedule.next(for: 0, now: 0, onCPU: onCPU)
        // Past the takeover time but on a CPU (computing, or preempted): a standby, no takeover.
        #expect(schedule.enqueue("next", now: Self.takeover + 1, onCPU: onCPU) == 1)
        #expect(schedule.members[1] == .standby(deadline: Self.busyTakeover))
        #expect(ran(schedule.next(for: 1, now: Self.busyTakeover, onCPU: onCPU)) == "next")
    }

    @Test("after a takeover, standbys look again at the takeover time, until the alertness passes")
    func alertPace() {
        var schedule = schedule(threads: 3)
        _ = schedule.enqueue("sleep", now: 0)
        _ = schedule.next(for: 0, now: 0)
        #expect(schedule.enqueue("sleep too", now: Self.takeover) == 1, "a takeover")
        let started = Self.takeover + 1
        #expect(ran(schedule.next(for: 1, now: started)) == "sleep too")
        #expect(schedule.enqueue("third", now: started + 1) == 2)
        #expect(schedule.members[2] == .standby(deadline: started + Self.takeover))

        var quiet = self.schedule(threads: 2)
        _ = quiet.enqueue("a", now: 0)
        _ = quiet.next(for: 0, now: 0)
        _ = quiet.enqueue("b", now: Self.takeover)
        _ = quiet.next(for: 1, now: Self.takeover)
        let later = Self.takeover + SharedQueueSchedule<String>.alertness
        guard case .wait(nil) = quiet.next(for: 0, now: later), case .wait(nil) = quiet.next(for: 1, now: later) else {
            Issue.record("both threads should be idle")
            return
        }
        _ = quiet.enqueue("c", now: later)
        _ = quiet.next(for: 1, now: later)
        #expect(quiet.enqueue("d", now: later + 1) == 0)
        #expect(quiet.members[0] == .standby(deadline: later + Self.busyTakeover), "the slow pace again")
    }

    /// Three threads running: "a" (thread 0) went long, so thread 1 took "b"; "b" went long too,
    /// so thread 2 took "c"; thread 1 then finished "b" and took "d" itself beside one short
    /// piece. "c" and "d" are short, and "e" waits behind them.
    private func threeRunning(stepsBack: Bool = true) -> SharedQueueSchedule<String> {
        let takeover = Self.takeover
        var schedule = SharedQueueSchedule<String>(
            count: 3, takeover: takeover, busyTakeover: Self.busyTakeover, stepsBack: stepsBack)
        _ = schedule.enqueue("a", now: 0)
        _ = schedule.next(for: 0, now: 0)
        #expect(schedule.enqueue("b", now: takeover + 1) == 1)
        _ = schedule.next(for: 1, now: takeover + 2)
        #expect(schedule.enqueue("c", now: 2 * takeover + 3) == 2)
        _ = schedule.next(for: 2, now: 2 * takeover + 4)
        _ = schedule.enqueue("d", now: 2 * takeover + 5)
        #expect(ran(schedule.next(for: 1, now: 2 * takeover + 5)) == "d", "one other short piece: it goes on")
        #expect(schedule.enqueue("e", now: 2 * takeover + 6) == nil, "every thread runs")
        return schedule
    }

    @Test("a thread that finishes a piece while two others run short ones steps back and stands by")
    func finishedThreadStepsBack() {
        var schedule = threeRunning()
        // Thread 0's long piece ends while "c" and "d" are young: it leaves the queue to them, so
        // GIL-bound work does not stay spread over every thread.
        let lookAgain = 2 * Self.takeover + 5 + Self.takeover
        #expect(deadline(schedule.next(for: 0, now: 2 * Self.takeover + 10)) == lookAgain)
        #expect(schedule.members[0] == .standby(deadline: lookAgain))
        #expect(ran(schedule.next(for: 2, now: 2 * Self.takeover + 20)) == "e")
        // Should the pieces go long, the standby takes what comes next at its deadline.
        _ = schedule.enqueue("f", now: 2 * Self.takeover + 30)
        #expect(ran(schedule.next(for: 0, now: lookAgain + Self.takeover)) == "f")
    }

    @Test("a thread that finishes a piece takes the next while the other pieces are long")
    func finishedThreadGoesOnBesideLongPieces() {
        var schedule = threeRunning()
        // "c" and "d" are past the busy takeover time: every thread may as well run.
        #expect(ran(schedule.next(for: 0, now: 2 * Self.takeover + 5 + Self.busyTakeover)) == "e")
    }

    @Test("without stepping back (a Redis worker's round trips), a finished thread takes the next")
    func noStepBack() {
        var schedule = threeRunning(stepsBack: false)
        #expect(ran(schedule.next(for: 0, now: 2 * Self.takeover + 10)) == "e")
    }

    @Test("a busy takeover shorter than the takeover counts as the takeover (a Redis worker's zero)")
    func busyTakeoverAtLeastTakeover() {
        var schedule = SharedQueueSchedule<String>(count: 2, takeover: Self.takeover, busyTakeover: 0)
        let onCPU: (Int) -> Bool = { _ in true }
        _ = schedule.enqueue("round trip", now: 0, onCPU: onCPU)
        _ = schedule.next(for: 0, now: 0, onCPU: onCPU)
        // On a CPU, yet past the takeover time: taken over at once, not stood by.
        #expect(schedule.enqueue("next", now: Self.takeover, onCPU: onCPU) == 1)
        #expect(schedule.members[1] == .woken)
    }

    @Test("a time read before another thread started a piece finds that piece young")
    func earlierTimeIsYoung() {
        var schedule = schedule(threads: 2)
        _ = schedule.enqueue("a", now: 1_000)
        _ = schedule.next(for: 0, now: 1_000)
        // Read at 500, before the lock: "a" has not run yet, whatever the subtraction says.
        #expect(schedule.enqueue("b", now: 500) == 1)
        #expect(schedule.members[1] == .standby(deadline: 1_000 + Self.busyTakeover))
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
