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
    }

    private let state: Mutex<State>

    /// How many slots there are.
    public let count: Int

    /// A pool of `count` new Python threads.
    public init(interpreter: PythonInterpreter, count: Int) async throws(PythonBridgeError) {
        var threads: [PythonThread] = []
        for index in 0..<count {
            threads.append(try await interpreter.makeThread(name: "python-slot-\(index)"))
        }
        self.state = Mutex(State(free: threads))
        self.count = count
    }

    /// Whether the pool was closed (a stuck worker's exit).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Takes a free slot if one is free now.
    public func tryAcquire() -> PythonThread? {
        state.withLock { $0.closed ? nil : $0.free.popLast() }
    }

    /// Takes a free slot, waiting for one if all are in use; nil once the pool is closed, or
    /// when ``wakeWaiters()`` wakes the wait.
    public func acquire() async -> PythonThread? {
        await withCheckedContinuation { continuation in
            let ready: PythonThread?? = state.withLock { state in
                if state.closed { return .some(nil) }
                if let thread = state.free.popLast() { return .some(thread) }
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
