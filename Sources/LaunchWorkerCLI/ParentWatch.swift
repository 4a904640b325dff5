import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A worker or batch that `launch-worker gateway` started stops with it: while
/// `LAUNCH_WORKER_PARENT_PID` names this process's parent, a timer looks every 200 ms whether
/// the parent is still there, and once it is gone (even killed with SIGKILL) sends this process
/// SIGTERM, so a worker drains as on any stop and gives its queued tasks back, for the
/// restarted gateway's workers, and a batch finishes the inputs in flight and keeps its journal,
/// for the restarted gateway to resume.
///
/// Polling, not `prctl(PR_SET_PDEATHSIG)`: that signal follows the parent's *thread* that
/// started the child, and the gateway starts workers from pooled threads that may end.
final class ParentWatch {
    /// The variable the gateway sets to its own process id.
    static let variable = "LAUNCH_WORKER_PARENT_PID"
    private let timer: any DispatchSourceTimer

    /// Starts watching when the variable names the parent; nil otherwise.
    init?(logger: Logger) {
        guard let parent = ProcessInfo.processInfo.environment[Self.variable].flatMap(pid_t.init) else { return nil }
        unsetenv(Self.variable)  // not for the processes the bundle starts
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let stopping = Atomic(false)
        timer.schedule(deadline: .now(), repeating: .milliseconds(200))
        timer.setEventHandler {
            // One SIGTERM only: a second one would make the worker exit without draining.
            guard getppid() != parent, !stopping.exchange(true, ordering: .relaxed) else { return }
            logger.warning("the gateway that started this worker (pid \(parent)) is gone: stopping")
            kill(getpid(), SIGTERM)
        }
        timer.resume()
        self.timer = timer
    }

    deinit {
        timer.cancel()
    }
}
