import Foundation
import Synchronization

/// Whether the worker can serve, shown to an orchestrator: a ready file that exists only
/// while the worker is ready (and, later, `/readyz`).
///
/// The worker is never shown ready while it cannot serve: not before the bundle has loaded,
/// not while a task is stuck in code that cannot be interrupted, not while draining.
public final class Readiness: Sendable {
    /// The worker's state as an orchestrator sees it.
    public enum State: String, Sendable, CaseIterable {
        /// Loading the bundle.
        case starting
        /// Serving.
        case ready
        /// A task ran past its timeout and could not be interrupted: not claiming.
        case stuck
        /// Shutting down: finishing in-flight tasks, claiming no more.
        case draining
    }

    private let state = Mutex<State>(.starting)
    /// The state's index in ``State/allCases``, read without the lock (every slot reads it after
    /// every task).
    private let currentIndex = Atomic(0)
    private let startup: Mutex<(waiting: Int, details: [String])>
    private let readyFile: URL?

    /// Tracks readiness, mirrored in `readyFile` when given; the worker becomes ready once
    /// `parts` parts of it (the loaded bundle, the spool loop, the HTTP endpoint) have started.
    public init(readyFile: URL?, parts: Int = 1) {
        self.readyFile = readyFile
        startup = Mutex((parts, []))
        if let readyFile { try? FileManager.default.removeItem(at: readyFile) }
    }

    /// Records that a part of the worker is up (with a line for the ready file, such as an
    /// address); the last one makes the worker ready.
    public func partStarted(detail: String? = nil) {
        let allStarted = startup.withLock { startup -> Bool in
            startup.waiting -= 1
            if let detail { startup.details.append(detail) }
            return startup.waiting == 0
        }
        if allStarted { set(.ready) }
    }

    /// The lines parts of the worker reported when they started (such as `listen ADDRESS`).
    public var details: [String] { startup.withLock { $0.details } }

    /// The current state.
    public var current: State { State.allCases[currentIndex.load(ordering: .relaxed)] }

    /// Moves to `next`, unless draining already (draining is final), and updates the ready file.
    public func set(_ next: State) {
        let changed = state.withLock { state -> Bool in
            guard state != .draining, state != next else { return false }
            state = next
            currentIndex.store(State.allCases.firstIndex(of: next)!, ordering: .relaxed)
            return true
        }
        guard changed, let readyFile else { return }
        if next == .ready {
            let details = startup.withLock { $0.details }
            let text = (["pid \(ProcessInfo.processInfo.processIdentifier)"] + details).joined(separator: "\n") + "\n"
            try? Data(text.utf8).write(to: readyFile, options: .atomic)
        } else {
            try? FileManager.default.removeItem(at: readyFile)
        }
    }
}
