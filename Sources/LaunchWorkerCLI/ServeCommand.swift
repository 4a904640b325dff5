import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SpoolQueue
import WorkerCore

/// `launch-worker serve`: load a bundle once, then answer tasks from a queue until stopped.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load a bundle once, then serve tasks from a queue until stopped.",
        discussion: """
            With --queue spool:DIR, producers drop request files into DIR/incoming/<task_id>.json \
            (launch-worker submit, or launch_worker.SpoolClient in Python) and responses appear \
            in DIR/responses/<task_id>.json; the protocol is in docs/spool-protocol.md. Several \
            workers can serve one spool; a task whose worker died returns to the queue, and after \
            --max-attempts goes to DIR/dead/ with a FAILURE response.

            Up to --per-worker tasks run at once, each on its own Python thread. SIGTERM or SIGINT \
            stops claiming, lets in-flight tasks finish for up to --drain-timeout, gives the rest \
            back to the queue and exits 0; a second signal exits at once. SIGUSR1 logs the metrics.

            Exit status: 0 after a graceful stop, 2 when the bundle cannot be loaded (with the \
            traceback), 3 when a task was stuck with --exit-on-stuck.

            Example:
              launch-worker serve sample-bundles/dist/arithmetic --queue spool:/tmp/spool --per-worker 4
            """
    )

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @Option(help: ArgumentHelp("Where tasks come from: spool:DIR.", valueName: "spool:DIR"))
    var queue: QueueAddress

    @Option(help: "How many tasks run at once (Launch's per_worker), each on its own Python thread.")
    var perWorker = 1

    @Option(help: ArgumentHelp("Interrupt a task running longer, answering FAILURE.", valueName: "SECONDS"))
    var taskTimeout: Double?

    @Option(help: "How many times a task may be started before it goes to dead/ (a worker died each time).")
    var maxAttempts = 3

    @Option(help: ArgumentHelp("A file that exists only while the worker is ready to serve.", valueName: "PATH"))
    var readyFile: String?

    @Option(help: ArgumentHelp("How long a graceful stop waits for in-flight tasks.", valueName: "SECONDS"))
    var drainTimeout: Double = 30

    @Option(
        help: ArgumentHelp(
            "How long after its timeout a task that cannot be interrupted (a C call) makes the worker not ready.",
            valueName: "SECONDS"))
    var stuckGrace: Double = 10

    @Flag(help: "Exit (status 3) when a task is stuck, so an orchestrator restarts the worker.")
    var exitOnStuck = false

    @Flag(help: "Stop once the queue is empty and nothing is in flight (for batch jobs).")
    var exitWhenEmpty = false

    @Option(
        help: ArgumentHelp(
            "How long a worker on another host may go silent before its claims are recovered.", valueName: "SECONDS"))
    var lease: Double = 30

    @Flag(inversion: .prefixedNo, help: "fsync responses and their folder (off: faster, not durable on power loss).")
    var fsync = true

    @Option(help: ArgumentHelp("Where pickled results are written (default: DIR/results).", valueName: "DIR"))
    var resultsDir: String?

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard perWorker >= 1 else { throw ValidationError("--per-worker must be at least 1") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard (taskTimeout ?? 1) > 0, drainTimeout >= 0, stuckGrace >= 0, lease > 0 else {
            throw ValidationError("timeouts must be positive")
        }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let logger = runtime.makeLogger()
        let layout = queue.spool
        let readiness = Readiness(readyFile: readyFile.map { URL(filePath: $0) })
        let session = try await BundleSession.open(bundle, runtime: runtime, logger: logger)
        defer { session.close() }
        let metrics = WorkerMetrics()
        metrics.bundleLoaded(in: session.bundle.loadDuration)

        let spool: SpoolQueue
        do {
            var configuration = SpoolQueue.Configuration()
            configuration.lease = .seconds(lease)
            configuration.maxAttempts = maxAttempts
            configuration.fsync = fsync
            spool = try SpoolQueue(layout: layout, configuration: configuration, logger: logger)
        } catch {
            throw CLIError(message: error.description)
        }
        let slots = try await SlotPool(interpreter: session.interpreter, count: perWorker)
        let results = DirectoryResultStore(folder: resultsDir.map { URL(filePath: $0) } ?? layout.results)
        var runnerConfiguration = TaskRunner.Configuration()
        runnerConfiguration.taskTimeout = taskTimeout.map { .seconds($0) }
        runnerConfiguration.stuckGrace = .seconds(stuckGrace)
        runnerConfiguration.exitOnStuck = exitOnStuck
        let runner = TaskRunner(
            executor: TaskExecutor(bundle: session.bundle, results: results, logger: logger),
            interpreter: session.interpreter, slots: slots, readiness: readiness, metrics: metrics,
            configuration: runnerConfiguration)
        var loopConfiguration = QueueWorker.Configuration()
        loopConfiguration.drainTimeout = .seconds(drainTimeout)
        loopConfiguration.exitWhenEmpty = exitWhenEmpty
        let worker = QueueWorker(queue: spool, runner: runner, configuration: loopConfiguration, logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: runner),
                    .init(service: spool),
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        let signals = SignalHandling(
            logger: logger,
            shutdown: {
                readiness.set(.draining)
                slots.wakeWaiters()
                Task { await group.triggerGracefulShutdown() }
            },
            snapshot: { logger.info("metrics snapshot", metadata: ["metrics": "\(metrics.snapshot())"]) })
        logger.info(
            "serving",
            metadata: [
                "queue": "\(queue)", "worker_id": "\(spool.workerID)", "per_worker": "\(perWorker)",
                "cold_start_ms": "\((clock.now - start).milliseconds)",
            ])
        do {
            try await group.run()
        } catch let error as WorkerError {
            readiness.set(.draining)
            throw CLIError(message: error.description, status: 3)
        } catch {
            readiness.set(.draining)
            throw CLIError(message: "the worker stopped: \(error)", status: 1)
        }
        readiness.set(.draining)
        withExtendedLifetime(signals) {}
    }
}
