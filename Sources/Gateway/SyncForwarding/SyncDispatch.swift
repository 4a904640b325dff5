import Synchronization

/// A sync endpoint's ready workers as requests see them, behind a lock rather than the
/// endpoint's actor: a `task_sync` forwarded on the event loop picks its worker here without
/// a hop to another thread.
///
/// The endpoint's ``EndpointRunner`` publishes which workers are ready; a request takes a
/// ``Lease`` on one (round robin), counted on that worker until it is released, so a retiring
/// worker is stopped only once the requests forwarded to it have ended.
final class SyncDispatch: Sendable {
    /// One request's worker: its number and its socket's path.
    struct Lease: Sendable {
        let worker: Int
        let socket: String
    }

    private struct State {
        var ready: [Lease] = []
        var turn = 0
        var inFlight = 0
        var routed: [Int: Int] = [:]
    }

    private let state = Mutex(State())

    /// A ready worker for one request, counted in flight until ``release(_:)``; nil when none
    /// is ready.
    func acquire() -> Lease? {
        state.withLock { state in
            guard !state.ready.isEmpty else { return nil }
            let lease = state.ready[state.turn % state.ready.count]
            state.turn &+= 1
            state.inFlight += 1
            state.routed[lease.worker, default: 0] += 1
            return lease
        }
    }

    /// Ends a request that ``acquire()`` counted.
    func release(_ lease: Lease) {
        state.withLock { state in
            state.inFlight -= 1
            state.routed[lease.worker, default: 1] -= 1
            if state.routed[lease.worker] == 0 { state.routed[lease.worker] = nil }
        }
    }

    /// Sets the workers requests may go to.
    func publish(_ ready: [Lease]) {
        state.withLock { $0.ready = ready }
    }

    /// Takes worker `number` out of service at once: no request goes to it from now on.
    func withdraw(_ number: Int) {
        state.withLock { state in state.ready.removeAll { $0.worker == number } }
    }

    /// Whether a worker is ready now.
    var hasReadyWorker: Bool { state.withLock { !$0.ready.isEmpty } }

    /// Requests being forwarded now.
    var inFlight: Int { state.withLock(\.inFlight) }

    /// Requests being forwarded to worker `number` now.
    func routed(to number: Int) -> Int {
        state.withLock { $0.routed[number, default: 0] }
    }
}
