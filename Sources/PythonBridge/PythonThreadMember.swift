import CLinux
import CPython
import Dispatch
import Foundation
import Synchronization

/// One OS thread of ``PythonThreads``: its Python thread state, the job it runs, and the loop
/// that takes its work from the schedule the threads share.
final class PythonThreadMember: Sendable {
    /// Its place among the threads.
    let index: Int
    /// The OS thread's name, as shown by debuggers and `ps -L`.
    let name: String
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Python's id of this thread (for `PyThreadState_SetAsyncExc`), the number of its latest
    /// job, and whether that job runs; all change only while this thread holds the GIL.
    private let running = Mutex<(pythonID: UInt, job: UInt64, busy: Bool)>((0, 0, false))
    /// The thread's `/proc/thread-self/stat`, open while it runs (-1 before and after).
    private let statFile = Atomic<Int32>(-1)
    /// The thread's Python thread state; read and written on the thread only.
    nonisolated(unsafe) private var threadState: UnsafeMutablePointer<PyThreadState>?

    init(index: Int, name: String) {
        self.index = index
        self.name = name
    }

    /// The member the calling thread is, if it is one (a thread-specific value set at its start).
    static var current: PythonThreadMember? {
        guard let pointer = pthread_getspecific(currentMemberKey) else { return nil }
        return Unmanaged<PythonThreadMember>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// The number of the job this thread runs now, if it runs one.
    var runningJob: UInt64? {
        running.withLock { $0.busy ? $0.job : nil }
    }

    /// Whether the thread runs or waits for a CPU (state `R` in its `stat`), rather than sleeping
    /// or blocked, which is what a call that let go of the GIL to wait does; false when unknown.
    /// One `pread` of its stat file, asked only of a thread in a piece past the takeover time.
    var isOnCPU: Bool {
        var text = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &text) { buffer in
            let count = pread(statFile.load(ordering: .relaxed), buffer.baseAddress, buffer.count, 0)
            guard count > 0 else { return false }
            // `TID (NAME) STATE ...`: the name may hold spaces and parentheses, so the state
            // follows the last `)`. The name has at most 15 bytes, so the state is in the first 64.
            let read = buffer.prefix(count)
            guard let close = read.lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return false }
            return read[close + 2] == UInt8(ascii: "R")
        }
    }

    /// Wakes the thread to look at the schedule again.
    func wake() {
        wakeUp.signal()
    }

    /// Raises `exceptionType` in the job numbered `job` if this thread still runs it.
    ///
    /// - Important: Call with the GIL held, from another thread.
    func raise(_ exceptionType: PythonObject, inJob job: UInt64) -> Bool {
        let (pythonID, number, busy) = running.withLock { $0 }
        guard busy, number == job else { return false }
        return PyThreadState_SetAsyncExc(pythonID, exceptionType.pointer) == 1
    }

    /// Runs `body` with the GIL held, as this thread's next numbered job.
    func withGIL<Value>(_ body: (GIL) throws -> Value) rethrows -> Value {
        PyEval_RestoreThread(threadState)
        running.withLock {
            $0.busy = true
            $0.job &+= 1
        }
        defer {
            running.withLock { $0.busy = false }
            // Drop an interruption that arrived too late for the job it was meant for.
            PyThreadState_SetAsyncExc(running.withLock { $0.pythonID }, nil)
            _ = PyEval_SaveThread()
        }
        return try body(GIL())
    }

    /// The thread's body. A nonisolated method, never a closure written in `main.swift`.
    func main(
        in threads: PythonThreads,
        attach: @Sendable () throws(PythonBridgeError) -> UnsafeMutablePointer<PyThreadState>,
        started: (Result<Void, PythonBridgeError>) -> Void
    ) {
        // Seen in `ps -L`, `top -H` and profilers; else the name of the thread that started it.
        // Named before it attaches: the main thread's attach is Python's whole start-up.
        clinux_name_this_thread(name)
        do {
            threadState = try attach()
        } catch {
            started(.failure(error))
            return
        }
        running.withLock { $0.pythonID = PyThread_get_thread_ident() }
        statFile.store(open("/proc/thread-self/stat", O_RDONLY | O_CLOEXEC), ordering: .relaxed)
        pthread_setspecific(currentMemberKey, Unmanaged.passUnretained(self).toOpaque())
        started(.success(()))
        var step = threads.next(for: index)
        while true {
            switch step {
            case .run(.job(let job), _): withGIL(job)
            case .run(.task(let job), _): job.runSynchronously(on: threads.asUnownedTaskExecutor())
            case .wait(let deadline?): _ = wakeUp.wait(timeout: DispatchTime(uptimeNanoseconds: deadline))
            case .wait(nil): wakeUp.wait()
            case .exit:
                pthread_setspecific(currentMemberKey, nil)
                close(statFile.exchange(-1, ordering: .relaxed))
                PyEval_RestoreThread(threadState)
                PyThreadState_Clear(threadState)
                PyThreadState_DeleteCurrent()
                return
            }
            step = threads.next(for: index)
        }
    }
}

/// The thread-specific key under which each ``PythonThreadMember``'s thread finds itself.
private let currentMemberKey: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left for the Python threads")
    return key
}()
