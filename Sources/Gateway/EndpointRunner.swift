import Foundation
import LaunchBundle
import Logging

/// One endpoint's life: its status, its workers (child `serve` processes), roll-outs (create,
/// edit), autoscaling between `min_workers` and `max_workers`, and its end (delete).
///
/// A roll-out prepares the bundle's environment (`launch-worker prepare`, whose output is the
/// creation log), starts the wanted workers and waits until they are ready (READY), then stops
/// the workers of the previous roll-out one at a time, so an edit refuses no request. A worker
/// that cannot start makes the endpoint UPDATE_FAILED with its log's end in the creation log,
/// and the previous workers go on serving.
actor EndpointRunner {
    /// Launch's endpoint statuses.
    enum Status: String, Sendable {
        case updatePending = "UPDATE_PENDING"
        case updateInProgress = "UPDATE_IN_PROGRESS"
        case ready = "READY"
        case updateFailed = "UPDATE_FAILED"
        case deleteInProgress = "DELETE_IN_PROGRESS"
    }

    /// What every endpoint shares: the executable its workers run, the state folder, the
    /// autoscaler's cooldown.
    struct Context: Sendable {
        /// The `launch-worker` executable.
        var executable: String
        /// `--state-dir`.
        var stateDirectory: URL
        /// How long the load must stay below the workers before one is stopped.
        var scaleDownCooldown: Duration
        /// How long a sync request waits for a ready worker.
        var readyWait: Duration
        /// Makes async endpoints' queues.
        var queues: EndpointQueues
        /// The host's GPUs, for endpoints with `gpus > 0`.
        var gpus: GPUInventory
        /// Keeps the workers' logs under their size.
        var workerLogs: WorkerLogRelay
        var logger: Logger

        /// Where workers write pickled results (the gateway serves them at `/results/`).
        var results: URL { stateDirectory.appending(path: "results") }
    }

    /// The endpoint as asked for.
    private(set) var record: EndpointRecord
    /// Its id and kind, which no edit changes.
    let id: String
    let kind: EndpointRecord.Kind
    /// Its current status.
    private(set) var status = Status.updatePending
    let files: EndpointFiles
    /// An async endpoint's queue (nil for a sync endpoint).
    let queue: (any EndpointQueue)?
    let context: Context
    /// The workers requests and the autoscaler see.
    var workers: [WorkerProcess] = []
    /// Workers taken out of service, draining before they stop.
    private var retiring: [WorkerProcess] = []
    /// A sync endpoint's ready workers, as requests pick them.
    nonisolated let dispatch = SyncDispatch()
    private var nextNumber = 0
    private var supervision: Task<Void, Never>?
    /// Sync requests waiting for a ready worker.
    var waiting = 0
    /// Whether the creation log says that too few GPUs are free for another worker.
    private var saidTooFewGPUs = false
    /// When the load last needed every worker there is (the cooldown counts from it).
    var lastFullyNeeded = ContinuousClock.now
    /// The pause before replacing a worker that died (doubling with each death), and when the
    /// next worker may start.
    var restartPause = Duration.zero
    var nextStart = ContinuousClock.now
    var logger: Logger

    init(record: EndpointRecord, context: Context) throws {
        self.record = record
        id = record.id
        kind = record.kind
        self.context = context
        files = EndpointFiles(stateDirectory: context.stateDirectory, id: record.id)
        try files.create()
        queue = record.kind == .async ? context.queues.queue(for: record, files: files) : nil
        logger = context.logger
        logger[metadataKey: "endpoint"] = "\(record.name)"
        logger[metadataKey: "endpoint_id"] = "\(record.id)"
    }

    /// Starts rolling out the endpoint, then supervises and scales its workers until stopped.
    func start() {
        supervision = Task { await self.supervise() }
    }

    /// Rolls out `record` (an edit): new workers first, then the old ones stop one at a time.
    func edit(_ record: EndpointRecord) async {
        supervision?.cancel()
        await supervision?.value
        self.record = record
        status = .updatePending
        start()
    }

    /// Drains every worker (SIGTERM; each finishes what it runs) and waits until they exited.
    func stop(deleting: Bool) async {
        if deleting { status = .deleteInProgress }
        supervision?.cancel()
        await supervision?.value
        dispatch.publish([])
        let all = workers + retiring
        for worker in all { worker.stop() }
        for worker in all {
            await worker.waitForExit()
            context.gpus.give(worker.devices)
        }
        workers = []
        retiring = []
        if deleting { files.remove() }
    }

    /// The endpoint and its workers now.
    func snapshot() async -> EndpointSnapshot {
        // Every count comes from this one reading of `workers`: the await below lets the
        // supervisor change the list, and a count read after it could go negative.
        let states = workers.map { (number: $0.number, pid: $0.pid, ready: $0.isReady) }
        let ready = states.count(where: \.ready)
        let load = await currentLoad()
        return EndpointSnapshot(
            record: record, status: status, readyWorkers: ready, otherWorkers: states.count - ready,
            wantedWorkers: wantedWorkers(load: load), load: load, workers: states)
    }

    /// A ready sync worker for one request, waiting for one up to the context's `readyWait`
    /// (requests that find one ready take it from ``dispatch`` without coming here). The
    /// caller releases the lease.
    ///
    /// - Throws: ``GatewayRefusal`` 503 when none became ready in time, 500 when the endpoint
    ///   failed (its creation log says why).
    func waitForWorker() async throws(GatewayRefusal) -> SyncDispatch.Lease {
        let clock = ContinuousClock()
        let deadline = clock.now + context.readyWait
        waiting += 1
        defer { waiting -= 1 }
        while true {
            if let lease = dispatch.acquire() { return lease }
            // Also when the client went away (the request's task is cancelled): nothing waits.
            if (status == .updateFailed && workers.isEmpty) || status == .deleteInProgress || clock.now > deadline
                || Task.isCancelled
            {
                throw status == .updateFailed
                    ? GatewayRefusal(
                        .internalServerError,
                        "endpoint \(record.name) failed to start (UPDATE_FAILED); read its creation logs")
                    : GatewayRefusal(.serviceUnavailable, "endpoint \(record.name) has no ready worker yet; try again")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Publishes the workers that are ready now to ``dispatch``.
    func publishReady() {
        dispatch.publish(
            workers.compactMap { worker in
                guard case .socket(let socket) = worker.frontEnd, worker.isReady else { return nil }
                return SyncDispatch.Lease(worker: worker.number, socket: socket.path)
            })
    }

    /// Takes `worker` out of service, lets the requests forwarded to it finish, then drains and
    /// stops it (an edit's old workers, scaling down): no request is sent to a stopping worker.
    func retire(_ worker: WorkerProcess) async {
        workers.removeAll { $0 === worker }
        dispatch.withdraw(worker.number)
        retiring.append(worker)
        while dispatch.routed(to: worker.number) > 0, worker.isRunning {
            await pause(milliseconds: 10)
        }
        worker.stop()
        await worker.waitForExit()
        context.gpus.give(worker.devices)
        retiring.removeAll { $0 === worker }
    }

    /// Removes the logs (and ready files) of workers that have stopped, last written before
    /// `cutoff`; those of the workers running stay.
    ///
    /// - Returns: how many files were removed.
    func expireWorkerLogs(before cutoff: Date) -> Int {
        let running = Set((workers + retiring).map { "worker-\($0.number)." })
        return StateExpiry.removeFiles(in: files.folder, before: cutoff) { name in
            name.hasPrefix("worker-") && !running.contains { name.hasPrefix($0) }
        }
    }

    // MARK: Roll-out

    private func supervise() async {
        guard await rollOut() else { return }
        while !Task.isCancelled {
            await scale()
            publishReady()
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Prepares the environment, starts the wanted workers and waits for them; true when READY.
    private func rollOut() async -> Bool {
        status = .updateInProgress
        logger.info("rolling out", metadata: ["bundle": "\(record.bundleName)"])
        files.appendToCreationLog("== roll-out of bundle \(record.bundleName) at \(Date())\n")
        let previous = workers
        guard await prepareEnvironment() else { return failed("preparing the bundle's environment failed (above)") }
        // An edit came while the environment was prepared: its own roll-out takes over.
        guard !Task.isCancelled else { return false }
        let (gpus, minWorkers) = (record.settings.gpus, record.settings.minWorkers)
        if gpus > 0, context.gpus.counts.free < gpus * minWorkers {
            let (free, total) = context.gpus.counts
            return failed(
                "gpus: \(gpus) per worker for min_workers \(minWorkers) needs \(gpus * minWorkers) GPUs, but \(free) of "
                    + "this host's \(total) are free (the gateway's --devices, else nvidia-smi -L; other endpoints' "
                    + "workers, and during an edit the previous workers, hold the rest): lower gpus or min_workers, "
                    + "or delete an endpoint that holds GPUs")
        }
        var fresh: [WorkerProcess] = []
        for _ in 0..<record.settings.minWorkers {
            guard let worker = startWorker() else { return failed("a worker could not be started", stopping: fresh) }
            fresh.append(worker)
        }
        for worker in fresh {
            while !worker.isReady {
                guard worker.isRunning else {
                    return failed(
                        "worker \(worker.number) ended (\(worker.ending)) before it was ready; its log ends with:\n"
                            + (await worker.logTail()), stopping: fresh)
                }
                guard !Task.isCancelled else { return false }
                publishReady()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        publishReady()
        status = .ready
        lastFullyNeeded = .now
        files.appendToCreationLog("== READY with \(fresh.count) worker(s)\n")
        logger.info("ready", metadata: ["workers": "\(fresh.count)"])
        for worker in previous { await retire(worker) }
        return true
    }

    /// Marks the roll-out failed, saying why in the creation log, and stops its new workers.
    private func failed(_ reason: String, stopping fresh: [WorkerProcess] = []) -> Bool {
        status = .updateFailed
        files.appendToCreationLog("== UPDATE_FAILED: \(reason)\n")
        logger.error("roll-out failed", metadata: ["reason": "\(reason)"])
        for worker in fresh {
            worker.stop()
            context.gpus.give(worker.devices)
        }
        workers.removeAll { worker in fresh.contains { $0 === worker } }
        publishReady()
        return false
    }

    /// Runs `launch-worker prepare` on a bundle with requirements, its output in the creation
    /// log; one without runs in the default environment, as `serve` runs it.
    private func prepareEnvironment() async -> Bool {
        let metadata = try? Data(
            contentsOf: URL(filePath: record.bundleFolder).appending(path: BundleDirectory.metadataName))
        guard let metadata, let bundle = try? BundleMetadata(json: metadata, bundle: record.bundleName) else {
            files.appendToCreationLog("the bundle's folder \(record.bundleFolder) cannot be read\n")
            return false
        }
        guard !bundle.requirements.isEmpty else {
            files.appendToCreationLog("no requirements: the workers run in the default environment\n")
            return true
        }
        let process = Process()
        process.executableURL = URL(filePath: context.executable)
        process.arguments = ["prepare", record.bundleFolder, "--log"]
        process.standardInput = FileHandle.nullDevice
        guard let log = try? FileHandle(forWritingTo: files.creationLog) else { return false }
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        defer { try? log.close() }
        do {
            try process.run()
        } catch {
            files.appendToCreationLog("cannot run \(context.executable) prepare: \(error)\n")
            return false
        }
        while process.isRunning { await pause(milliseconds: 20) }
        return process.terminationReason == .exit && process.terminationStatus == 0
    }

    /// Starts one more worker of the current roll-out, on GPUs of its own when the endpoint
    /// asks for them; nil (logged) when it cannot start.
    func startWorker() -> WorkerProcess? {
        var devices: [String] = []
        if record.settings.gpus > 0 {
            guard let taken = context.gpus.take(record.settings.gpus) else {
                // Said once until a worker gets its GPUs: the autoscaler asks again every 0.1 s.
                if !saidTooFewGPUs {
                    let (free, total) = context.gpus.counts
                    files.appendToCreationLog(
                        "cannot start a worker: it needs \(record.settings.gpus) GPUs, \(free) of \(total) are free\n")
                    saidTooFewGPUs = true
                }
                return nil
            }
            saidTooFewGPUs = false
            devices = taken
        }
        nextNumber += 1
        let frontEnd: WorkerProcess.FrontEnd =
            queue.map { .queue(arguments: $0.workerArguments) } ?? .socket(files.socket(nextNumber))
        do {
            let worker = try WorkerProcess(
                number: nextNumber, executable: context.executable, bundle: record.bundleFolder, frontEnd: frontEnd,
                perWorker: record.settings.perWorker, files: files.folder, results: context.results,
                devices: devices, logLevel: context.logger.logLevel, logs: context.workerLogs)
            workers.append(worker)
            logger.info("worker started", metadata: ["worker": "\(worker.number)", "pid": "\(worker.pid)"])
            return worker
        } catch {
            context.gpus.give(devices)
            files.appendToCreationLog("cannot start a worker: \(error)\n")
            return nil
        }
    }
}
