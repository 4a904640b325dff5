import Synchronization

/// The serving loop's shared state: what is in flight, whether it drains, and how long to pause
/// claiming after a storage failure.
final class LoopState: Sendable {
    private struct State {
        var inFlight = 0
        var draining = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var storagePause: Duration?
        var pauseConsumed = true
    }

    private let state = Mutex(State())

    var inFlight: Int { state.withLock { $0.inFlight } }
    var draining: Bool { state.withLock { $0.draining } }

    func beginDrain() { state.withLock { $0.draining = true } }

    func taskStarted() { state.withLock { $0.inFlight += 1 } }

    func taskLeft() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.inFlight -= 1
            guard state.inFlight == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits until nothing is in flight; false when `timeout` passed first.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let idle = self.state.withLock { state -> Bool in
                        if state.inFlight == 0 { return true }
                        state.idleWaiters.append(continuation)
                        return false
                    }
                    if idle { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            if first {
                group.cancelAll()
            }
            // The idle waiter cannot be cancelled; on a timeout the group would wait for it, so
            // release it by hand.
            self.releaseIdleWaiters()
            return first
        }
    }

    private func releaseIdleWaiters() {
        let waiters = state.withLock { state in
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Doubles the pause after a storage failure (from 0.5 s up to 30 s) and returns it.
    func storageFailed() -> Duration {
        state.withLock { state in
            let next = min((state.storagePause ?? .milliseconds(250)) * 2, .seconds(30))
            state.storagePause = next
            state.pauseConsumed = false
            return next
        }
    }

    func storageSucceeded() { state.withLock { $0.storagePause = nil } }

    /// A pause to take before the next claim, once per storage failure.
    func claimPause() -> Duration? {
        state.withLock { state in
            guard !state.pauseConsumed, let pause = state.storagePause else { return nil }
            state.pauseConsumed = true
            return pause
        }
    }
}
