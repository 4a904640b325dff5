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
/// - Important: Python never runs on Swift's cooperative pool: only here.
public final class PythonThread: Sendable {
    /// A job: runs on the thread with the GIL held.
    typealias Job = @Sendable (GIL) -> Void

    private enum Message: Sendable {
        case job(Job)
        case stop
    }

    /// The thread's name, as shown by debuggers and `ps -L`.
    public let name: String
    private let mailbox = Mutex<[Message]>([])
    private let wakeUp = DispatchSemaphore(value: 0)

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

    /// Runs `body` on this thread with the GIL held, and returns its result.
    ///
    /// If the calling task is cancelled before the job starts, the job is skipped and this
    /// throws `CancellationError`; once started, a job runs to its end.
    public func run<Value: Sendable>(
        _ body: @escaping @Sendable (GIL) throws -> Value
    ) async throws -> Value {
        let job = PendingJob<Value>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                job.attach(continuation)
                post(.job { gil in job.start()?.resume(with: Result { try body(gil) }) })
            }
        } onCancel: {
            job.cancel()
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
        mailbox.withLock { $0.append(message) }
        wakeUp.signal()
    }

    private func nextMessage() -> Message {
        wakeUp.wait()
        return mailbox.withLock { $0.removeFirst() }
    }

    /// The thread's body. A nonisolated method, never a closure written in `main.swift`.
    private func main(
        attach: @Sendable () throws(PythonBridgeError) -> UnsafeMutablePointer<PyThreadState>,
        started: (Result<Void, PythonBridgeError>) -> Void
    ) {
        let threadState: UnsafeMutablePointer<PyThreadState>
        do {
            threadState = try attach()
        } catch {
            started(.failure(error))
            return
        }
        started(.success(()))
        while case .job(let job) = nextMessage() {
            PyEval_RestoreThread(threadState)
            job(GIL())
            _ = PyEval_SaveThread()
        }
        PyEval_RestoreThread(threadState)
        PyThreadState_Clear(threadState)
        PyThreadState_DeleteCurrent()
    }
}

/// One job's continuation, and whether it started or was cancelled first.
private final class PendingJob<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case started
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

    /// Marks the job started; returns its continuation, or nil when it was cancelled.
    func start() -> CheckedContinuation<Value, any Error>? {
        state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = .started
            return continuation
        }
    }

    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .waiting(let continuation) = state else { return nil }
            state = .cancelled
            return continuation
        }
        continuation?.resume(throwing: CancellationError())
    }
}
