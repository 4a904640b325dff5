import BatchJobs
import Logging
import Synchronization

/// Runs a batch under the worker's signals: the first SIGINT or SIGTERM stops taking inputs and
/// lets those in flight finish for up to the drain timeout; a second exits at once. Either way
/// what was recorded stays, and a rerun resumes. A batch started by the gateway stops (as on
/// SIGTERM) once the gateway is gone (``ParentWatch``).
enum BatchDrive {
    /// Runs `work` until it ends, or until the drain timeout after a signal (which calls
    /// `interrupt`), showing its progress with `reporter` and writing `output` durably every second.
    static func run(
        _ work: @escaping @Sendable () async -> BatchRun.End, interrupt: @escaping @Sendable () -> Void,
        reporter: ProgressReporter, output: BatchOutput, drainTimeout: Duration, logger: Logger
    ) async -> BatchRun.End {
        let signalled = AsyncStream<Void>.makeStream()
        let signals = SignalHandling(
            logger: logger, exitingNow: "exiting now; rerun the same command to resume",
            shutdown: {
                interrupt()
                signalled.continuation.yield()
            }, snapshot: {})
        let parentWatch = ParentWatch(logger: logger)
        let showing = Task { await reporter.run() }
        let syncing = Task {
            // A write that fails here fails again at the end, which reports it.
            while (try? await Task.sleep(for: .seconds(1))) != nil { try? output.sync() }
        }
        defer {
            signalled.continuation.finish()
            showing.cancel()
            syncing.cancel()
            reporter.finish()
            withExtendedLifetime((signals, parentWatch)) {}
        }
        let settled = Mutex(false)
        // Unstructured, so that a predict stuck past the drain timeout cannot keep the batch from
        // ending: the first of the two to settle decides.
        return await withCheckedContinuation { continuation in
            let settle = { @Sendable (end: BatchRun.End) in
                let first = settled.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: end) }
            }
            Task { settle(await work()) }
            Task {
                for await _ in signalled.stream {
                    try? await Task.sleep(for: drainTimeout)
                    settle(.interrupted)
                    return
                }
            }
        }
    }
}
