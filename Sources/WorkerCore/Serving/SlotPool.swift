import PythonBridge
import Synchronization

/// The worker's `per_worker` slots: one dedicated Python thread each, lent to one task at a time.
///
/// A task that holds a slot has a thread of its own, so tasks whose predict releases the GIL
/// (sleep, I/O, numpy, torch) overlap for real.
public final class SlotPool: Sendable {
    private struct State {
        var free: [PythonThread]
        var waiters: [CheckedContinuation<PythonThread?, Never>] = []
        var closed = false

        /// A free slot, the caller's own thread's when that one is free.
        mutating func takeFree() -> PythonThread? {
            if let own = free.firstIndex(where: \.isCurrent) { return free.remove(at: own) }
            return free.popLast()
        }
    }

    private let state: Mutex<State>

    /// How many slots there are.
    public let count: Int
    /// Every slot's thread, free or not: a caller that runs its tasks on them (as their
    /// executor) still acquires a slot before running a request.
    public let threads: [PythonThread]

    /// A pool of `count` new Python threads.
    public init(interpreter: PythonInterpreter, count: Int) async throws(PythonBridgeError) {
        var threads: [PythonThread] = []
        for index in 0..<count {
            threads.append(try await interpreter.makeThread(name: "python-slot-\(index)"))
        }
        self.state = Mutex(State(free: threads))
        self.count = count
        self.threads = threads
    }

    /// Whether the pool was closed (a stuck worker's exit).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Takes a free slot if one is free now.
    public func tryAcquire() -> PythonThread? {
        state.withLock { $0.closed ? nil : $0.takeFree() }
    }

    /// Takes a free slot, waiting for one if all are in use; nil once the pool is closed, or
    /// when ``wakeWaiters()`` wakes the wait.
    ///
    /// A caller running on a slot's thread gets that slot when it is free, so its request runs
    /// there without changing threads.
    public func acquire() async -> PythonThread? {
        await withCheckedContinuation { continuation in
            let ready: PythonThread?? = state.withLock { state in
                if state.closed { return .some(nil) }
                if let thread = state.takeFree() { return .some(thread) }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Gives a slot back.
    public func release(_ thread: PythonThread) {
        let waiter = state.withLock { state -> CheckedContinuation<PythonThread?, Never>? in
            guard !state.waiters.isEmpty else {
                state.free.append(thread)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: thread)
    }

    /// Stops lending slots: whoever waits in ``acquire()`` gets nil now, and so will later callers.
    public func close() {
        state.withLock { $0.closed = true }
        wakeWaiters()
    }

    /// Ends the current waits in ``acquire()`` with nil (for a drain: waiters look again at
    /// whether they should still want a slot).
    public func wakeWaiters() {
        let waiters = state.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: nil) }
    }
}
