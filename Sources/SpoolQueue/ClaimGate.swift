import Synchronization

/// Counts the tasks this worker runs, and keeps a suspect task alone: one that was running when
/// a worker died beside other tasks, so that no one can tell which of them killed it
/// (``SpoolRecovery``). A suspect is claimed only while nothing else runs here, and nothing is
/// claimed beside it; should the worker die then, the suspect alone is to blame.
///
/// A suspect waiting in `incoming/` also holds back the tasks queued after it: the worker
/// finishes what it runs, then takes the suspect, so a busy worker never starves it.
final class ClaimGate: Sendable {
    private struct State {
        /// Tasks handed out and not yet answered or given back.
        var running = 0
        /// The suspect running alone, if any.
        var alone: String?
    }

    private let state = Mutex(State())

    /// Reserves a place for task `id`, about to be claimed: false when it may not run now (a
    /// suspect while anything else runs, anything while a suspect runs). A reservation is ended
    /// by ``left(_:)``, also when the claim then fails.
    func reserve(_ id: String, suspect: Bool) -> Bool {
        state.withLock { state in
            guard state.alone == nil, !suspect || state.running == 0 else { return false }
            state.running += 1
            if suspect { state.alone = id }
            return true
        }
    }

    /// Task `id` no longer runs here: answered, given back, or its claim failed.
    func left(_ id: String) {
        state.withLock { state in
            state.running = max(state.running - 1, 0)
            if state.alone == id { state.alone = nil }
        }
    }
}
