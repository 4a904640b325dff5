import CPython
import Dispatch
import Foundation
import Synchronization

/// A dedicated OS thread with its own Python thread state, running Python jobs one at a time.
///
/// Async code hands a job over with ``run(_:)`` and suspends; the thread takes the GIL for the
/// job only, and releases it before the caller resumes. Keeping one thread state for the
/// thread's whole life keeps `threading.local` data of the bundle between calls.
///
/// The thread is also a `TaskExecutor`: a task that prefers it (`withTaskExecutorPreference`,
/// `addTask(executorPreference:)`) runs its Swift code here, between Python jobs, and its
/// ``run(_:)`` calls then run at once, without handing the job to another thread and back.
/// Blocking file I/O in such a task waits on this thread, never on Swift's cooperative pool.
///
/// - Important: Python never runs on Swift's cooperative pool: only here.
public final class PythonThread: TaskExecutor, Sendable {
    /// A job: runs on the thread with the GIL held.
    typealias Job = @Sendable (GIL) -> Void

    private enum Message: Sendable {
        case job(Job)
        /// A piece of a Swift task that prefers this thread; runs without the GIL.
        case task(UnownedJob)
        case stop
    }

    /// The thread's name, as shown by debuggers and `ps -L`.
    public let name: String
    private let mailbox = Mutex<(messages: [Message], stopped: Bool)>(([], false))
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Python's id of this thread (for `PyThreadState_SetAsyncExc`), and whether a job is
    /// running; both change only while this thread holds the GIL.
    private let running = Mutex<(pythonID: UInt, busy: Bool)>((0, false))
    /// The OS thread, set once before the thread takes its first message.
    private let osThread = Mutex<pthread_t?>(nil)
    /// The thread's Python thread state; read and written on the thread only.
    nonisolated(unsafe) private var threadState: UnsafeMutablePointer<PyThreadState>?

    private init(name: String) {
        self.name = name
    }

    /// Starts a thread and waits until its thread state exists.
    ///
    /// - Parameters:
    ///   - name: the thread's name.
    ///   - attach: runs first on the new thread; it must leave the thread with a Python thread
    ///     state and without the GIL, and return that thread state.
    static func start(
        name: String,
        attach: @escaping @Sendable () throws(PythonBridgeError) -> UnsafeMutablePointer<PyThreadState>
    ) async throws(PythonBridgeError) -> PythonThread {
        let thread = PythonThread(name: name)
        let started: Result<Void, PythonBridgeError> = await withCheckedContinuation { continuation in
            let osThread = Thread {
                thread.main(attach: attach) { continuation.resume(returning: $0) }
            }
            osThread.name = name
            osThread.stackSize = 16 << 20
            osThread.start()
        }
        try started.get()
        return thread
    }

    /// Whether the caller runs on this thread (a task that prefers it as its executor).
    public var isCurrent: Bool {
        guard let thread = osThread.withLock({ $0 }) else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Runs `body` on this thread with the GIL held, and returns its result.
    ///
    /// Called from a task running on this thread, it runs `body` at once. Otherwise, if the
    /// calling task is cancelled, this throws `CancellationError` at once: a job that had not
    /// started is skipped; one already running cannot be stopped from outside Python, so it runs
    /// to its end on the thread and its result is dropped.
    public func run<Value: Sendable>(
        _ body: @escaping @Sendable (GIL) throws -> Value
    ) async throws -> Value {
        if isCurrent {
            try Task.checkCancellation()
            return try withGIL(body)
        }
        let job = PendingJob<Value>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                job.attach(continuation)
                post(
                    .job { gil in
                        guard job.start() else { return }
                        job.finish(Result { try body(gil) })
                    })
            }
        } onCancel: {
            job.cancel()
        }
    }

    /// Raises `exceptionType` inside the job running on this thread, if one is running, at its
    /// next Python bytecode; a job running C code sees it only when it returns to Python.
    ///
    /// - Important: Call with the GIL held (from another thread's job). A raise that the job
    ///   did not see before it ended is cleared, so it never reaches a later job.
    public func raiseInRunningJob(_ exceptionType: PythonObject, _ gil: GIL) -> Bool {
        let (pythonID, busy) = running.withLock { $0 }
        guard busy else { return false }
        return PyThreadState_SetAsyncExc(pythonID, exceptionType.pointer) == 1
    }

    /// Whether jobs or pieces of tasks wait for this thread (while it runs another).
    public var hasQueuedWork: Bool {
        mailbox.withLock { !$0.messages.isEmpty }
    }

    /// Takes a piece of a task that prefers this thread. After ``stop()`` such pieces go to the
    /// global concurrent executor, so a task is never stranded.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let accepted = mailbox.withLock { mailbox -> Bool in
            guard !mailbox.stopped else { return false }
            mailbox.messages.append(.task(job))
            return true
        }
        if accepted {
            wakeUp.signal()
        } else {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }

    /// Ends the thread after the jobs already handed to it, dropping its thread state.
    public func stop() {
        post(.stop)
    }

    /// Hands `job` to the thread without waiting for it.
    func post(_ job: @escaping Job) {
        post(.job(job))
    }

    private func post(_ message: Message) {
        mailbox.withLock { mailbox in
            mailbox.messages.append(message)
            if case .stop = message { mailbox.stopped = true }
        }
        wakeUp.signal()
    }

    private func nextMessage() -> Message {
        wakeUp.wait()
        return mailbox.withLock { $0.messages.removeFirst() }
    }

    /// Runs `body` with the GIL held, marked as this thread's running job.
    private func withGIL<Value>(_ body: (GIL) throws -> Value) rethrows -> Value {
        PyEval_RestoreThread(threadState)
        running.withLock { $0.busy = true }
        defer {
            running.withLock { $0.busy = false }
            // Drop an interruption that arrived too late for the job it was meant for.
            PyThreadState_SetAsyncExc(running.withLock { $0.pythonID }, nil)
            _ = PyEval_SaveThread()
        }
        return try body(GIL())
    }

    /// Names the OS thread (seen in `ps -L`, `top -H` and profilers), which otherwise keeps the
    /// name of the thread that started it. Linux keeps 15 bytes; <pthread.h>'s setter is not
    /// visible to Swift, the thread's `comm` file is.
    private func nameOSThread() {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The thread's body. A nonisolated method, never a closure written in `main.swift`.
    private func main(
        attach: @Sendable () throws(PythonBridgeError) -> UnsafeMutablePointer<PyThreadState>,
        started: (Result<Void, PythonBridgeError>) -> Void
    ) {
        do {
            threadState = try attach()
        } catch {
            started(.failure(error))
            return
        }
        running.withLock { $0.pythonID = PyThread_get_thread_ident() }
        osThread.withLock { $0 = pthread_self() }
        nameOSThread()
        started(.success(()))
        while true {
            switch nextMessage() {
            case .job(let job): withGIL(job)
            case .task(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .stop:
                PyEval_RestoreThread(threadState)
                PyThreadState_Clear(threadState)
                PyThreadState_DeleteCurrent()
                return
            }
        }
    }
}

/// One job's continuation, and whether it started or was cancelled first.
private final class PendingJob<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case started(CheckedContinuation<Value, any Error>?)
        /// Cancelled or finished: the continuation was resumed.
        case cancelled
    }

    private let state = Mutex<State>(.waiting(nil))

    func attach(_ continuation: CheckedContinuation<Value, any Error>) {
        let cancelledAlready = state.withLock { state -> Bool in
            guard case .waiting = state else { return true }
            state = .waiting(continuation)
            return false
        }
        if cancelledAlready { continuation.resume(throwing: CancellationError()) }
    }

    /// Marks the job started; false when it was cancelled and must be skipped.
    func start() -> Bool {
        state.withLock { state in
            guard case .waiting(let continuation) = state else { return false }
            state = .started(continuation)
            return true
        }
    }

    /// Resumes the caller with `CancellationError` now, whether or not the job started; a
    /// started job's result is dropped when it ends.
    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            switch state {
            case .waiting(let continuation), .started(let continuation):
                state = .cancelled
                return continuation
            case .cancelled:
                return nil
            }
        }
        continuation?.resume(throwing: CancellationError())
    }

    /// Resumes the caller with the job's outcome, unless it was cancelled meanwhile.
    func finish(_ result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .started(let continuation) = state else { return nil }
            state = .cancelled
            return continuation
        }
        continuation?.resume(with: result)
    }
}
