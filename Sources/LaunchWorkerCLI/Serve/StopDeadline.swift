import Dispatch
import Logging
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The bound on a graceful stop: `serve` ends within `--drain-timeout` plus ``grace`` whatever
/// still runs (a predict stuck in C code holding a connection open, a broker that does not
/// answer). What is left in flight then returns to its queue as after a crash: spool claims are
/// recovered on the next start, Redis deliveries are restored.
enum StopDeadline {
    /// How long after `--drain-timeout` the process ends regardless.
    static let grace = Duration.seconds(10)
    /// How long the spool may take, after the drain, to make staged answers durable; what is
    /// still staged then is published by recovery without charging an attempt.
    static let commitTimeout = Duration.seconds(5)

    /// Ends the process with status 1 once `deadline` has passed, unless it has exited by then.
    static func start(after deadline: Duration, logger: Logger) {
        let nanoseconds = deadline.components.seconds * 1_000_000_000 + deadline.components.attoseconds / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
            logger.error(
                "the graceful stop did not finish in time (a task stuck in code that cannot be interrupted?): exiting now; what was in flight returns to its queue",
                metadata: ["deadline": "\(deadline.formattedSeconds)"])
            _exit(1)
        }
    }
}
