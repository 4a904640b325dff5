import Foundation
import Synchronization

/// Whether the worker can serve, shown to an orchestrator: a ready file that exists only
/// while the worker is ready, and `/readyz`.
///
/// The worker is never shown ready while it cannot serve: not before the bundle has loaded,
/// not while every slot holds a task stuck in code that cannot be interrupted (or one does, with
/// `--exit-on-stuck`), not while a queue it serves cannot be used, not while draining. Each of
/// those conditions is set and cleared by the part that sees it; the state shown is worked out
/// from all of them, so one part clearing its condition never hides another's.
public final class Readiness: Sendable {
    /// The worker's state as an orchestrator sees it.
    public enum State: String, Sendable, CaseIterable {
        /// Loading the bundle.
        case starting
        /// Serving.
        case ready
        /// Every slot holds a task that ran past its timeout and could not be interrupted (or one
        /// did, with `--exit-on-stuck`): not claiming.
        case stuck
        /// A queue the worker serves cannot be used now (its spool folder is gone): not claiming
        /// from it until it can; or, for a process pool, no worker process is ready.
        case unavailable
        /// Shutting down: finishing in-flight tasks, claiming no more.
        case draining
    }

    /// A condition that keeps a started worker from being ready until it clears.
    public enum Hold: Sendable, Hashable {
        /// A task is stuck (``State/stuck``).
        case stuck
        /// A queue cannot be used (``State/unavailable``).
        case queueUnavailable
        /// A process pool's supervisor has no worker process ready (``State/unavailable``).
        case noWorkerProcessReady
    }

    private struct Conditions {
        var waitingParts: Int
        var details: [String] = []
        var holds: Set<Hold> = []
        var draining = false

        var state: State {
            if draining { return .draining }
            if waitingParts > 0 { return .starting }
            if holds.contains(.stuck) { return .stuck }
            return holds.isEmpty ? .ready : .unavailable
        }
    }

    private let conditions: Mutex<Conditions>
    /// The state's index in ``State/allCases``, read without the lock (every slot reads it after
    /// every task).
    private let currentIndex = Atomic(0)
    private let readyFile: URL?

    /// Tracks readiness, mirrored in `readyFile` when given; the worker becomes ready once
    /// `parts` parts of it (the loaded bundle, the spool loop, the HTTP endpoint) have started.
    public init(readyFile: URL?, parts: Int = 1) {
        self.readyFile = readyFile
        conditions = Mutex(Conditions(waitingParts: parts))
        if let readyFile { try? FileManager.default.removeItem(at: readyFile) }
    }

    /// Records that a part of the worker is up (with a line for the ready file, such as an
    /// address); the last one makes the worker ready.
    public func partStarted(detail: String? = nil) {
        update { conditions in
            conditions.waitingParts -= 1
            if let detail { conditions.details.append(detail) }
        }
    }

    /// The lines parts of the worker reported when they started (such as `listen ADDRESS`).
    public var details: [String] { conditions.withLock { $0.details } }

    /// The current state.
    public var current: State { State.allCases[currentIndex.load(ordering: .relaxed)] }

    /// Keeps the worker from being ready until ``lift(_:)`` clears `hold`.
    public func hold(_ hold: Hold) {
        update { $0.holds.insert(hold) }
    }

    /// Clears `hold`; the worker is ready again once nothing else holds it.
    public func lift(_ hold: Hold) {
        update { $0.holds.remove(hold) }
    }

    /// Starts draining: final, the worker is never ready again.
    public func drain() {
        update { $0.draining = true }
    }

    /// Applies `change`, and mirrors a changed state in the ready file. The file is written under
    /// the lock (changes are rare: never per task), so two racing changes leave it as the state is.
    private func update(_ change: (inout Conditions) -> Void) {
        conditions.withLock { conditions in
            let before = conditions.state
            change(&conditions)
            let after = conditions.state
            guard after != before else { return }
            currentIndex.store(State.allCases.firstIndex(of: after)!, ordering: .relaxed)
            if let readyFile { mirror(after, details: conditions.details, in: readyFile) }
        }
    }

    private func mirror(_ state: State, details: [String], in readyFile: URL) {
        if state == .ready {
            let text = (["pid \(ProcessInfo.processInfo.processIdentifier)"] + details).joined(separator: "\n") + "\n"
            try? Data(text.utf8).write(to: readyFile, options: .atomic)
        } else {
            try? FileManager.default.removeItem(at: readyFile)
        }
    }
}
