import ArgumentParser
import Foundation
import HTTPEndpoint
import Logging
import ServiceLifecycle
import SpoolQueue
import WorkerCore

/// `launch-worker bench`: load a bundle, drive requests through it, report throughput and
/// latency.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a bundle's throughput and latency through the worker.",
        discussion: """
            Loads the bundle, warms up, then drives --requests (default 1000) or --duration of \
            requests from --concurrency callers, and prints cold start (process start to ready), \
            requests/s, latency p50/p90/p99/max, errors by kind and peak RSS. --json prints the \
            same as one JSON object.

            --via inprocess calls the worker's runner directly (its own cost); --via http starts \
            the sync endpoint on loopback and drives it over keep-alive connections; --via spool \
            queues every request in a temporary spool and lets the worker answer them.

            Examples:
              launch-worker bench sample-bundles/dist/arithmetic --args '{"x": 1, "y": 2}' --requests 10000
              launch-worker bench my-bundle --url input.bin --via http --concurrency 16 --per-worker 16 --json
            """
    )

    enum Via: String, ExpressibleByArgument, CaseIterable {
        case inprocess, http, spool
    }

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @OptionGroup var requestOptions: RequestOptions

    @OptionGroup(title: "URL inputs") var download: URLDownloadOptions

    @Option(help: ArgumentHelp("Read predict's keyword arguments from a JSON file.", valueName: "FILE"))
    var argsFile: String?

    @Option(help: "How many requests to measure (default 1000 unless --duration).")
    var requests: Int?

    @Option(help: ArgumentHelp("Measure for this long instead of a number of requests.", valueName: "SECONDS"))
    var duration: Double?

    @Option(help: "How many callers send requests at once.")
    var concurrency = 1

    @Option(help: "How many tasks run at once (default: --concurrency).")
    var perWorker: Int?

    @Option(help: "How the requests reach the worker: inprocess, http or spool.")
    var via: Via = .inprocess

    @Option(help: "Requests sent first and not measured.")
    var warmup = 100

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard concurrency >= 1, (perWorker ?? 1) >= 1, (requests ?? 1) >= 1, (duration ?? 1) > 0, warmup >= 0 else {
            throw ValidationError("--concurrency, --per-worker, --requests and --duration must be positive")
        }
        if via == .spool, duration != nil { throw ValidationError("--via spool measures --requests, not --duration") }
    }

    func run() async throws {
        let logger = runtime.makeLogger(defaultLevel: .warning)
        let body = try requestBody()
        let request: PredictRequest
        do {
            request = try PredictRequest(json: body)
        } catch {
            throw CLIError(message: error.description)
        }
        let session = try await BundleSession.open(bundle, runtime: runtime, logger: logger)
        defer { session.close() }
        let slotCount = perWorker ?? concurrency
        let readiness = Readiness(readyFile: nil, parts: via == .inprocess ? 1 : 2)
        let metrics = WorkerMetrics()
        let results = try Checkout.temporary("bench-results")
        defer { try? FileManager.default.removeItem(at: results) }
        let runner = TaskRunner(
            executor: RequestExecutor(results: DirectoryResultStore(folder: results), logger: logger),
            slots: SlotPool(try await session.makeSlots(count: slotCount)),
            readiness: readiness, metrics: metrics, configuration: .init())
        readiness.partStarted()

        let load = BenchLoad(
            requests: duration == nil ? (requests ?? 1000) : requests, duration: duration.map { .seconds($0) },
            concurrency: concurrency)
        let samples = BenchSamples()
        let measured: (seconds: Duration, coldStart: Duration)
        switch via {
        case .inprocess:
            let driver = InProcessDriver(runner: runner, request: request, inputs: inputs)
            let coldStart = ProcessFacts.sinceStart()
            await driver.drive(warmupLoad, into: BenchSamples(), progress: BenchProgress(total: nil, duration: nil))
            measured = (await timed { await drive(driver.drive, load, into: samples) }, coldStart)
        case .http:
            measured = try await overHTTP(runner: runner, body: body, load: load, samples: samples, logger: logger)
        case .spool:
            measured = try await throughSpool(runner: runner, body: body, load: load, samples: samples, logger: logger)
        }
        let report = BenchReport(
            bundle: session.bundle.bundle.metadata.bundleName, via: via.rawValue, perWorker: slotCount,
            concurrency: concurrency, coldStartMilliseconds: measured.coldStart / .milliseconds(1),
            requests: samples.latencies.count, seconds: measured.seconds / .seconds(1),
            requestsPerSecond: Double(samples.latencies.count) / max(measured.seconds / .seconds(1), 1e-9),
            latencyMilliseconds: .init(samples.latencies), errors: samples.errors, peakRSSBytes: ProcessFacts.peakRSS())
        print(json ? report.json() : report.table())
    }

    /// Every request is the benchmark user's own, whichever way it goes in (the HTTP endpoint on
    /// loopback included), so its input may be any local file.
    private var inputs: InputPolicy { download.localProducers }

    private var warmupLoad: BenchLoad { BenchLoad(requests: warmup, duration: nil, concurrency: concurrency) }

    /// Drives the measured `load` with `driver`, showing its progress, and ends the progress
    /// bar's line before the report.
    private func drive(
        _ driver: (BenchLoad, BenchSamples, BenchProgress) async -> Void, _ load: BenchLoad, into samples: BenchSamples
    ) async {
        let progress = BenchProgress(total: load.requests, duration: load.duration)
        await driver(load, samples, progress)
        progress.finish()
    }

    private func timed(_ work: () async throws -> Void) async rethrows -> Duration {
        let start = ContinuousClock.now
        try await work()
        return ContinuousClock.now - start
    }

    private func overHTTP(
        runner: TaskRunner, body: [UInt8], load: BenchLoad, samples: BenchSamples, logger: Logger
    ) async throws -> (Duration, Duration) {
        let server = HTTPServer(
            readiness: runner.readiness, metrics: runner.metrics,
            configuration: .init(address: .tcp(host: "127.0.0.1", port: 0)), logger: logger)
        server.attach(runner, inputs: inputs)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while runner.readiness.current != .ready { try await Task.sleep(for: .milliseconds(5)) }
            let coldStart = ProcessFacts.sinceStart()
            let listen = runner.readiness.details.first { $0.hasPrefix("listen ") } ?? ""
            guard let port = Int(listen.split(separator: ":").last ?? "") else {
                throw CLIError(message: "the benchmark's HTTP server did not say its port")
            }
            let driver = HTTPDriver(port: port, body: body)
            await driver.drive(warmupLoad, into: BenchSamples(), progress: BenchProgress(total: nil, duration: nil))
            let seconds = await timed { await drive(driver.drive, load, into: samples) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return (seconds, coldStart)
        }
    }

    private func throughSpool(
        runner: TaskRunner, body: [UInt8], load: BenchLoad, samples: BenchSamples, logger: Logger
    ) async throws -> (Duration, Duration) {
        let folder = try Checkout.temporary("bench-spool")
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder)
        let driver = SpoolDriver(layout: layout, body: body)
        let ids: [String]
        let spool: SpoolQueue
        do {
            ids = try driver.submit(load.requests ?? 1000)
            spool = try SpoolQueue(layout: layout, configuration: .init(), logger: logger)
        } catch {
            throw CLIError(message: "\(error)")
        }
        var loop = QueueWorker.Configuration()
        loop.exitWhenEmpty = true
        let worker = QueueWorker(queue: spool, runner: runner, inputs: inputs, configuration: loop, logger: logger)
        let coldStart = ProcessFacts.sinceStart()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: spool), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        try await group.run()
        return (driver.collect(ids, into: samples), coldStart)
    }

    private func requestBody() throws(CLIError) -> [UInt8] {
        guard let argsFile else { return try requestOptions.body() }
        var options = requestOptions
        options.args = "@\(argsFile)"
        return try options.body()
    }
}

/// Temporary folders for the benchmark's results and spool.
private enum Checkout {
    static func temporary(_ purpose: String) throws(CLIError) -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(
            path: "launch-worker-\(purpose)-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError(message: "cannot make a temporary folder: \(error)")
        }
        return folder
    }
}
