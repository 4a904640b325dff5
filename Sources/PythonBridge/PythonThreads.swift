import CPython
import Dispatch
import Foundation
import Synchronization

/// Dedicated OS threads, each with its own Python thread state, that share one queue of
/// Python jobs and Swift task pieces.
///
/// Async code hands a job over with ``run(_:)`` and suspends; a thread takes the GIL for the job
/// only, and releases it before the caller resumes. Each thread keeps its thread state for life,
/// so `threading.local` data of the bundle survives between the calls that thread runs.
///
/// The threads are also one `TaskExecutor`: a task that prefers it (`withTaskExecutorPreference`,
/// `addTask(executorPreference:)`) runs its Swift code on one of them, between Python jobs, and
/// its ``run(_:)`` calls then run at once on that thread, without a hand-off. Blocking file I/O
/// in such a task waits on these threads, never on Swift's cooperative pool.
///
/// Which thread runs the next piece is ``SharedQueueSchedule``'s choice: short work stays on one
/// hot thread, so more threads never make GIL-bound work slower; a piece whose thread waits off
/// the CPU past the takeover time (a call waiting with the GIL released) lets another thread take
/// the queue, so such calls still overlap, and so does one that computes past the busy takeover
/// time.
///
/// - Important: Python never runs on Swift's cooperative pool: only here.
public final class PythonThreads: TaskExecutor, Sendable {
    /// A job: runs on one of the threads with the GIL held.
    typealias Job = @Sendable (GIL) -> Void

    enum Message: Sendable {
        case job(Job)
        /// A piece of a Swift task that prefers these threads; runs without the GIL.
        case task(UnownedJob)
    }

    /// The threads' name (each thread is named `name-N` when there are several).
    public let name: String
    /// The threads, in order.
    let members: [PythonThreadMember]
    private let schedule: Mutex<SharedQueueSchedule<Message>>

    private init(name: String, count: Int, takeover: Duration, busyTakeover: Duration, stepsBack: Bool) {
        self.name = name
        self.schedule = Mutex(
            SharedQueueSchedule(
                count: count, takeover: Self.nanoseconds(takeover), busyTakeover: Self.nanoseconds(busyTakeover),
                stepsBack: stepsBack))
        self.members = (0..<count).map { PythonThreadMember(index: $0, name: count == 1 ? name : "\(name)-\($0)") }
    }

    /// Starts `count` threads and waits until each has its thread state.
    ///
    /// - Parameters:
    ///   - name: the threads' name.
    ///   - takeover: how long a piece runs, its thread off the CPU, before queued work may go to
    ///     another thread.
    ///   - busyTakeover: how long a piece runs, its thread on a CPU, before queued work may go to
    ///     another thread.
    ///   - stepsBack: whether a thread that finished a piece while two others run short ones leaves
    ///     the queue to them (``SharedQueueSchedule/stepsBack``).
    ///   - attach: runs first on each new thread; it must leave the thread with a Python thread
    ///     state and without the GIL, and return that thread state.
    static func start(
        name: String, count: Int, takeover: Duration, busyTakeover: Duration, stepsBack: Bool = true,
        attach: @escaping @Sendable () throws(PythonBridgeError) -> UnsafeMutablePointer<PyThreadState>
    ) async throws(PythonBridgeError) -> PythonThreads {
        let threads = PythonThreads(
            name: name, count: max(count, 1), takeover: takeover, busyTakeover: busyTakeover, stepsBack: stepsBack)
        for member in threads.members {
            let started: Result<Void, PythonBridgeError> = await withCheckedContinuation { continuation in
                let osThread = Thread {
                    member.main(in: threads, attach: attach) { continuation.resume(returning: $0) }
                }
                osThread.stackSize = 16 << 20
                osThread.start()
            }
            do {
                try started.get()
            } catch {
                threads.stop()
                throw error
            }
        }
        return threads
    }

    /// How many threads there are.
    public var count: Int { members.count }

    /// Whether the caller runs on one of these threads (a task that prefers them).
    public var isCurrent: Bool { currentMember != nil }

    /// The job the calling thread runs now, when it is one of these threads and runs a job: what
    /// ``PythonInterpreter/interrupt(_:raising:)`` needs to interrupt it later, and only it.
    public var currentJob: PythonJob? {
        guard let member = currentMember, let number = member.runningJob else { return nil }
        return PythonJob(threads: self, member: member.index, number: number)
    }

    /// Runs `body` on one of the threads with the GIL held, and returns its result.
    ///
    /// Called from a task running on one of them, it runs `body` at once. Otherwise, if the
    /// calling task is cancelled, this throws `CancellationError` at once: a job that had not
    /// started is skipped; one already running cannot be stopped from outside Python, so it runs
    /// to its end on its thread and its result is dropped.
    public func run<Value: Sendable>(
        _ body: @escaping @Sendable (GIL) throws -> Value
    ) async throws -> Value {
        if let member = currentMember {
            try Task.checkCancellation()
            return try member.withGIL(body)
        }
        let job = PendingJob<Value>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                job.attach(continuation)
                post { gil in
                    guard job.start() else { return }
                    job.finish(Result { try body(gil) })
                }
            }
        } onCancel: {
            job.cancel()
        }
    }

    /// Raises `exceptionType` inside `job` if it still runs, at its next Python bytecode; a job
    /// running C code sees it only when it returns to Python.
    ///
    /// - Important: Call with the GIL held (from another thread's job). A raise that the job
    ///   did not see before it ended is cleared, so it never reaches a later job.
    public func raise(_ exceptionType: PythonObject, in job: PythonJob, _ gil: GIL) -> Bool {
        guard job.threads === self, members.indices.contains(job.member) else { return false }
        return members[job.member].raise(exceptionType, inJob: job.number)
    }

    /// Whether jobs or pieces of tasks wait for a thread (while the threads run others).
    public var hasQueuedWork: Bool {
        schedule.withLock { !$0.messages.isEmpty }
    }

    /// Takes a piece of a task that prefers these threads. After ``stop()`` such pieces go to the
    /// global concurrent executor, so a task is never stranded.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !post(.task(job)) { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Ends the threads after the work already handed to them, dropping their thread states.
    public func stop() {
        let woken = schedule.withLock { $0.stop() }
        for index in woken { members[index].wake() }
    }

    /// Hands `job` to the threads without waiting for it; after ``stop()`` it never runs.
    func post(_ job: @escaping Job) {
        _ = post(.job(job))
    }

    /// Queues `message`, waking the thread the schedule picks; false once stopped.
    private func post(_ message: Message) -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let outcome = schedule.withLock { schedule -> (queued: Bool, wake: Int?) in
            guard !schedule.stopping else { return (false, nil) }
            return (true, schedule.enqueue(message, now: now, onCPU: isOnCPU))
        }
        if let wake = outcome.wake { members[wake].wake() }
        return outcome.queued
    }

    /// What `member` does next, once it finished a piece or woke up.
    func next(for member: Int) -> SharedQueueSchedule<Message>.Step {
        let now = DispatchTime.now().uptimeNanoseconds
        let step = schedule.withLock { $0.next(for: member, now: now, onCPU: isOnCPU) }
        if case .run(_, let wake?) = step { members[wake].wake() }
        return step
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000, 0))
    }

    /// Whether `member`'s thread runs or waits for a CPU, rather than sleeping or blocked.
    private func isOnCPU(_ member: Int) -> Bool {
        members[member].isOnCPU
    }

    /// The member the calling thread is, if it is one of these.
    private var currentMember: PythonThreadMember? {
        guard let member = PythonThreadMember.current, member.index < members.count,
            members[member.index] === member
        else { return nil }
        return member
    }
}

/// One job run by ``PythonThreads``: which thread runs it, and which of that thread's jobs it is.
public struct PythonJob: Sendable {
    let threads: PythonThreads
    let member: Int
    let number: UInt64
}
