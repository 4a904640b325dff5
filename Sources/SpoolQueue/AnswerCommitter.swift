import CLinux
import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Group commit of staged answers on a thread of its own: while one group is being made
/// durable, the answers staged meanwhile gather into the next, so a slot runs its next task
/// while the disk works and the disk's barriers are shared by every answer of a group.
///
/// The thread starts with the first answer and ends at ``close(within:)``; blocking system calls
/// never run on Swift's cooperative pool. A group that fails is logged and retried with backoff
/// (``CommitBackoff``); its answers stay staged, where recovery finds them if the worker
/// ends first.
final class AnswerCommitter: Sendable {
    private struct State {
        var staged: [StagedAnswer] = []
        var committing = 0
        var running = false
        /// The thread waits on `wakeUp`; whoever changes what it waits for signals it once.
        var sleeping = false
        var closingDeadline: ContinuousClock.Instant?
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var closeWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0

        var backlog: Int { staged.count + committing }

        /// Wakes the thread if it sleeps; returns whether the caller must signal it.
        mutating func wake() -> Bool {
            defer { sleeping = false }
            return sleeping
        }
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let commit: AnswerCommit
    private let incomingPath: String
    private let maxBacklog: Int
    private let logger: Logger

    /// A committer for the spool at `layout`; ``add(_:)`` waits while `maxBacklog` answers wait.
    /// Without `sync`, groups are published without the disk barriers (`--no-fsync`). Answered
    /// claims go to `spares`.
    init(layout: SpoolLayout, sync: Bool, maxBacklog: Int, spares: SpareFiles, logger: Logger) {
        commit = AnswerCommit(layout: layout, sync: sync, spares: spares)
        incomingPath = layout.incoming.path
        self.maxBacklog = maxBacklog
        self.logger = logger
    }

    /// Hands a staged answer over; returns at once unless `maxBacklog` answers already wait,
    /// then once the backlog is below it again (or the committer gave up at close).
    func add(_ answer: StagedAnswer) async {
        let (start, signal, full) = state.withLock { state -> (Bool, Bool, Bool) in
            state.staged.append(answer)
            let start = !state.running
            state.running = true
            return (start, state.wake(), state.backlog > maxBacklog)
        }
        if start { startThread() } else if signal { wakeUp.signal() }
        guard full else { return }
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state in
                guard state.running, state.backlog > maxBacklog else { return false }
                state.spaceWaiters.append(continuation)
                return true
            }
            if !wait { continuation.resume() }
        }
    }

    /// Commits every staged answer and ends the thread: returns once nothing is left, or about
    /// when `timeout` has passed (a failing disk; a second later should a system call hang);
    /// what is left then stays staged for recovery.
    func close(within timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let key = state.withLock { state -> Int? in
            guard state.running else { return nil }
            state.closingDeadline = deadline
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let key else { return }
        // The thread gives up at the deadline between tries; this covers a system call that
        // hangs (a dead network file system).
        let timer = Task { [self] in
            try? await Task.sleep(until: deadline + .seconds(1), clock: clock)
            state.withLock { $0.closeWaiters.removeValue(forKey: key) }?.resume()
        }
        defer { timer.cancel() }
        await withCheckedContinuation { continuation in
            let (registered, signal) = state.withLock { state -> (Bool, Bool) in
                guard state.running else { return (false, false) }
                state.closeWaiters[key] = continuation
                return (true, state.wake())
            }
            if !registered { continuation.resume() }
            if signal { wakeUp.signal() }
        }
    }

    private func startThread() {
        let thread = Thread { [self] in
            clinux_name_this_thread("spool-commit")
            self.main()
        }
        thread.start()
    }

    /// The thread: takes everything staged as one group, commits it, and goes on until closed
    /// and empty, or closed and past the deadline with a group that keeps failing.
    private func main() {
        let clock = ContinuousClock()
        var backoff = CommitBackoff()
        while true {
            let group = state.withLock { state -> [StagedAnswer]? in
                if state.staged.isEmpty {
                    if state.closingDeadline != nil { return nil }
                    state.sleeping = true
                    return []
                }
                defer { state.staged = [] }
                state.committing = state.staged.count
                return state.staged
            }
            guard let group else { break }
            if group.isEmpty {
                wakeUp.wait()
                continue
            }
            let retry = retryable(commit.commit(group))
            let (space, deadline) = state.withLock { state in
                state.committing = 0
                state.staged.insert(contentsOf: retry, at: 0)
                let space = state.backlog <= maxBacklog ? state.spaceWaiters : []
                state.spaceWaiters.removeFirst(space.count)
                return (space, state.closingDeadline)
            }
            space.forEach { $0.resume() }
            guard !retry.isEmpty else {
                backoff.succeeded()
                if !commit.sync { gather() }
                continue
            }
            let pause = backoff.failed()
            if let deadline, clock.now + pause > deadline {
                logger.error(
                    "the worker stops with answers not yet durable: they stay staged in its claim folder for recovery",
                    metadata: ["staged": "\(retry.count)"])
                break
            }
            sleep(pause)
        }
        let (space, closing) = state.withLock { state in
            defer {
                state.running = false
                state.closingDeadline = nil
                state.spaceWaiters = []
                state.closeWaiters = [:]
            }
            return (state.spaceWaiters, Array(state.closeWaiters.values))
        }
        space.forEach { $0.resume() }
        closing.forEach { $0.resume() }
    }

    /// Logs a group's failures; returns the answers to try again. An answer whose staged file
    /// vanished (and no response names it) cannot be answered: its task goes back to incoming/.
    private func retryable(_ failures: [AnswerCommit.Failure]) -> [StagedAnswer] {
        guard let first = failures.first else { return [] }
        logger.error(
            "cannot make answers durable; retrying",
            metadata: ["answers": "\(failures.count)", "reason": "\(first.reason)"])
        for failure in failures where failure.vanished {
            logger.forTask(failure.answer.id).error("the staged answer vanished: returning the task to incoming/")
            rename(failure.answer.claim, "\(incomingPath)/\(failure.answer.id).json")
        }
        return failures.filter { !$0.vanished }.map(\.answer)
    }

    /// How long the thread lets answers gather after a group without the disk barriers.
    private static let gatherTime = DispatchTimeInterval.milliseconds(1)

    /// Lets answers gather for ``gatherTime`` after a group committed without the disk barriers,
    /// whose groups would otherwise hold one answer each: every answer would wake the thread
    /// (a futex call on the slot's thread, a context switch on the other core), and its renames
    /// would contend with the slot's for the folders' locks one by one. ``add(_:)`` does not
    /// signal meanwhile; ``close(within:)`` waits at most this long more. With the barriers, the
    /// `syncfs` of one group is the time in which the next gathers.
    private func gather() {
        _ = wakeUp.wait(timeout: .now() + Self.gatherTime)
    }

    /// Waits `pause`, or less when ``add(_:)`` or ``close(within:)`` wakes the thread.
    private func sleep(_ pause: Duration) {
        state.withLock { $0.sleeping = true }
        let nanoseconds = pause.components.seconds * 1_000_000_000 + pause.components.attoseconds / 1_000_000_000
        _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        // A wake-up that came after the timeout leaves a signal behind: the next wait returns at
        // once and the loop looks again, which is harmless.
        state.withLock { $0.sleeping = false }
    }
}

/// The pause before trying again a group commit that failed: 50 ms, doubling with each failure
/// to at most 5 s, and 50 ms again once a group commits.
struct CommitBackoff: Sendable, Equatable {
    /// The first pause.
    static let first = Duration.milliseconds(50)
    /// The longest pause.
    static let longest = Duration.seconds(5)

    private var next = Self.first

    /// A group failed: the pause to take before trying again.
    mutating func failed() -> Duration {
        defer { next = min(next * 2, Self.longest) }
        return next
    }

    /// A group committed: the next failure pauses ``first`` again.
    mutating func succeeded() {
        next = Self.first
    }
}
