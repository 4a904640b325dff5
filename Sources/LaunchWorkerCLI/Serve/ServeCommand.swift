import ArgumentParser
import Foundation
import HTTPEndpoint
import Logging
import ServiceLifecycle
import Synchronization
import WorkerCore

/// `launch-worker serve`: load a bundle once, then answer tasks from a spool and/or HTTP
/// requests until stopped, on one set of `per_worker` slots.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load a bundle once, then serve a spool queue and/or HTTP requests until stopped.",
        discussion: """
            With --queue spool:DIR, producers drop request files into DIR/incoming/<task_id>.json \
            (launch-worker submit, or launch_worker.SpoolClient in Python) and responses appear \
            in DIR/responses/<task_id>.json (docs/spool-protocol.md). Several workers can serve one \
            spool; a task whose worker died returns to the queue, and after --max-attempts goes to \
            DIR/dead/ with a FAILURE response.

            With --listen, it serves Launch's sync endpoint: POST /predict, GET /healthz, \
            /healthcheck, /readyz and /metrics, on loopback or a Unix socket (owner-only). Both can \
            run in one process, sharing the slots.

            With --queue redis://HOST:PORT/DB?queue=NAME, it is a Celery worker for llm-engine's \
            async endpoints: it runs the messages that celery's send_task queues there and stores \
            Celery's results, which AsyncResult reads (docs/redis-protocol.md). rediss:// speaks \
            TLS, with redis-py's ssl_cert_reqs, ssl_ca_certs, ssl_certfile and ssl_keyfile \
            parameters.

            Up to --per-worker tasks run at once, each on its own Python thread. SIGTERM or SIGINT \
            turns /readyz and the ready file off, stops taking work, lets in-flight tasks finish \
            (spool tasks for up to --drain-timeout, then they go back to the queue) and exits 0; a \
            second signal exits at once. SIGUSR1 logs the metrics.

            With --processes P, a supervisor runs P worker processes (each its own interpreter and \
            --per-worker slots) on the same queue and listening socket, restarts one that dies, \
            recycles them with --max-tasks-per-process or --max-rss-per-process, gives each its \
            GPUs with --gpus, and replaces them one at a time on SIGHUP (docs/process-pool.md).

            Exit status: 0 after a graceful stop, 2 when the bundle cannot be loaded (with the \
            traceback), 3 when a task was stuck with --exit-on-stuck.

            Examples:
              launch-worker serve sample-bundles/dist/arithmetic --queue spool:/tmp/spool --per-worker 4
              launch-worker serve sample-bundles/dist/arithmetic --listen 127.0.0.1:8080
              launch-worker serve my-bundle --listen unix:/run/worker.sock --queue spool:/data/spool
              launch-worker serve my-bundle --queue 'redis://127.0.0.1:6379/0?queue=launch-endpoint-id-1'
              launch-worker serve my-bundle --queue 'rediss://broker:6380/3?queue=q&ssl_ca_certs=/etc/redis/ca.pem'
            """
    )

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @OptionGroup(title: "Queue") var queueOptions: QueueOptions

    @OptionGroup(title: "Spool queue") var spoolOptions: SpoolOptions

    @OptionGroup(title: "Redis queue (Celery)") var redisOptions: RedisOptions

    @OptionGroup(title: "HTTP endpoint") var httpOptions: HTTPOptions

    @OptionGroup(title: "URL inputs") var urlOptions: URLInputOptions

    @Option(help: "How many tasks run at once (Launch's per_worker), each on its own Python thread.")
    var perWorker = 1

    @Option(help: ArgumentHelp("Interrupt a task running longer, answering FAILURE (HTTP 504).", valueName: "SECONDS"))
    var taskTimeout: Double?

    @Option(
        help: ArgumentHelp(
            "How long after its timeout a task that cannot be interrupted (a C call) makes the worker not ready.",
            valueName: "SECONDS"))
    var stuckGrace: Double = 10

    @Flag(help: "Exit (status 3) when a task is stuck, so an orchestrator restarts the worker.")
    var exitOnStuck = false

    @Option(help: ArgumentHelp("A file that exists only while the worker is ready to serve.", valueName: "PATH"))
    var readyFile: String?

    @Option(
        help: ArgumentHelp(
            "How long a graceful stop waits for in-flight tasks, then for their answers to be durable.",
            valueName: "SECONDS"))
    var drainTimeout: Double = 30

    @Option(
        help: ArgumentHelp(
            "Where pickled results are written (default: DIR/results with a spool, else ~/.cache/launch-worker/results).",
            valueName: "DIR"))
    var resultsDir: String?

    @OptionGroup(title: "Process pool") var pool: PoolOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard queueOptions.queue != nil || httpOptions.listen != nil else {
            throw ValidationError(
                "give --queue (spool:DIR or redis://HOST:PORT/DB?queue=NAME), --listen ADDRESS, or both")
        }
        guard perWorker >= 1 else { throw ValidationError("--per-worker must be at least 1") }
        guard (taskTimeout ?? 1) > 0, drainTimeout >= 0, stuckGrace >= 0 else {
            throw ValidationError("--task-timeout must be positive, --drain-timeout and --stuck-grace not negative")
        }
    }

    func run() async throws {
        guard pool.processes == 1 else {
            _ = EventLoopShare.apply(processes: pool.processes)
            let logger = runtime.makeLogger()
            return try await PoolSupervisor(plan: try poolPlan(logger: logger), logger: logger).run()
        }
        let member = try PoolMember.join()
        let eventLoops = EventLoopShare.apply(processes: member?.size ?? 1)
        if member == nil { try useGPUsAlone() }
        let clock = ContinuousClock()
        let start = clock.now
        let logger = runtime.makeLogger(gathering: true)
        let metrics = WorkerMetrics()
        member?.watchTaskCount(metrics, logger: logger)
        member?.publishMetrics(metrics)
        let queue = queueSource
        // Ready once the bundle has loaded and every front end serves.
        let readiness = Readiness(
            readyFile: readyFile.map { URL(filePath: $0) },
            parts: 1 + (queue == nil ? 0 : 1) + (httpOptions.listen == nil ? 0 : 1))
        let http = try httpOptions.listen.map { address throws(CLIError) in
            var configuration = try httpOptions.configuration(address: address)
            configuration.sharedSocket = member?.listener
            configuration.supervisorAnsweringFile = member?.supervisorAnsweringFile
            configuration.poolMetrics = member?.poolMetrics
            return HTTPServer(readiness: readiness, metrics: metrics, configuration: configuration, logger: logger)
        }
        let network = try urlOptions.networkProducers()
        var frontEnds: [any FrontEnd] = []
        if let queue {
            frontEnds.append(
                QueueFrontEnd(
                    queue: queue, inputs: queue.inputs(local: urlOptions.localProducers, network: network),
                    loop: loopConfiguration, logger: logger))
        }
        if let http { frontEnds.append(HTTPFrontEnd(server: http, inputs: network)) }
        let plan = WorkerService.Plan(
            bundle: bundle, runtime: runtime, perWorker: perWorker, runner: runnerConfiguration,
            resultsFolder: resultsDir.map { URL(filePath: $0) } ?? queue?.resultsFolder ?? ResultsFolder.default,
            frontEnds: frontEnds)
        let slots = Mutex<SlotPool?>(nil)
        let worker = WorkerService(
            plan: plan, readiness: readiness, metrics: metrics, logger: logger,
            slotsReady: { pool in slots.withLock { $0 = pool } })

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let http { services.append(.init(service: http)) }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let signals = SignalHandling(
            logger: logger,
            shutdown: { [drainTimeout] in
                readiness.drain()
                slots.withLock { $0 }?.wakeWaiters()
                Task { await group.triggerGracefulShutdown() }
                StopDeadline.start(after: .seconds(drainTimeout) + StopDeadline.grace, logger: logger)
            },
            snapshot: { logger.info("metrics snapshot", metadata: ["metrics": "\(metrics.snapshot())"]) })
        let parentWatch = ParentWatch(logger: logger)
        defer {
            readiness.drain()
            withExtendedLifetime((signals, parentWatch)) {}
        }
        logger.info("starting", metadata: ["per_worker": "\(perWorker)", "event_loops": "\(eventLoops)"])
        do {
            try await group.run()
        } catch let error as CLIError {
            throw error
        } catch let error as WorkerError {
            throw CLIError(message: error.description, status: 3)
        } catch {
            throw CLIError(message: "the worker stopped: \(error)", status: 1)
        }
        logger.info("stopped", metadata: ["uptime_ms": "\((clock.now - start).milliseconds)"])
    }

    /// The queue to serve, with its kind's settings.
    private var queueSource: QueueSource? {
        var spool = spoolOptions.configuration
        spool.commitTimeout = StopDeadline.commitTimeout
        return queueOptions.queue.map { QueueSource(address: $0, spool: spool, redis: redisOptions) }
    }

    private var loopConfiguration: QueueWorker.Configuration {
        var loop = QueueWorker.Configuration()
        loop.drainTimeout = .seconds(drainTimeout)
        loop.exitWhenEmpty = queueOptions.exitWhenEmpty
        return loop
    }

    private var runnerConfiguration: TaskRunner.Configuration {
        var configuration = TaskRunner.Configuration()
        configuration.taskTimeout = taskTimeout.map { .seconds($0) }
        configuration.stuckGrace = .seconds(stuckGrace)
        configuration.exitOnStuck = exitOnStuck
        return configuration
    }
}
