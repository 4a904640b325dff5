import ArgumentParser
import BatchJobs
import Foundation
import LaunchBundle
import Logging
import PythonBridge
import WorkerCore

/// `launch-worker batch`: run a bundle over a file of inputs, resumably, into an output folder,
/// here or through a queue that workers on other machines serve.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run a bundle over a CSV or JSON Lines file of inputs, into an output folder; resumable.",
        discussion: """
            Reads --input a row at a time: a CSV with a url column or an args column (a JSON object) and an \
            optional id column, or JSON Lines of request bodies ({"args": ...} or {"url": ...}, an optional \
            "id"); - reads standard input. Writes DIR/results.jsonl (one line per input: id, status, result or \
            result_url, traceback), pickles under DIR/results/ with --return-pickled, and DIR/summary.json.

            Resumable: running the same command again after a crash, kill -9 or Ctrl-C skips the inputs that \
            finished and runs the rest; each input ends with exactly one line. A changed input or bundle is \
            refused unless --restart.

            With --processes P, P worker processes (each its own interpreter) run the inputs; this process \
            reads the input and writes the output folder, so resuming works the same way.

            With --queue, the inputs become tasks on a spool or a Celery queue on Redis, and workers anywhere \
            (launch-worker serve --queue ...) run them; the bundle is theirs, so leave BUNDLE out.

            Exit status: 0 when every input succeeded, 1 when some failed (or --max-failures stopped the \
            batch, or a worker process of --processes died), 2 on a usage error, an input that cannot be \
            read or an output folder that cannot be used, 130 when interrupted.

            Examples:
              launch-worker batch sample-bundles/dist/arithmetic --input rows.csv --output out/
              cat requests.jsonl | launch-worker batch my-bundle --input - --output out/ --per-worker 4
              launch-worker batch my-bundle --input rows.csv --output out/ --processes 8
              launch-worker batch --queue 'redis://broker:6379/0?queue=scores' --input rows.csv --output out/
            """
    )

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @Option(help: ArgumentHelp("The inputs: a .csv or .jsonl file, or - for standard input.", valueName: "FILE"))
    var input: String

    @Option(help: ArgumentHelp("The folder for results.jsonl, the journal and summary.json.", valueName: "DIR"))
    var output: String

    @Option(help: "The input's format, csv or jsonl (default: from its name; jsonl for standard input).")
    var format: BatchInputFile.Format?

    @OptionGroup var options: BatchOptions

    @OptionGroup(title: "Through a queue") var queueOptions: BatchQueueOptions

    @OptionGroup(title: "URL inputs") var download: URLDownloadOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if queueOptions.queueText != nil, bundle != nil {
            throw ValidationError("with --queue the workers serving it load the bundle: leave BUNDLE out")
        }
        if queueOptions.queueText != nil, options.processes > 1 {
            throw ValidationError("with --queue the workers serving it are the processes: leave --processes out")
        }
    }

    func run() async throws {
        let logger = runtime.makeLogger()
        if options.batchWorkerIndex != nil { try await runAsWorkerProcess(logger: logger) }
        let inputFile: BatchInputFile
        let digest: FileDigest?
        do {
            inputFile = try BatchInputFile(path: input, format: format)
            digest = try inputFile.digest()
        } catch {
            throw CLIError(message: error.message)
        }
        let inputDescription = BatchManifest.Input(path: input, format: inputFile.format, digest: digest)
        if let queue = queueOptions.queue {
            let batchQueue = try await queueOptions.open(queue)
            let manifest = BatchManifest(
                input: inputDescription,
                bundle: .init(name: "", location: "the workers serving \(queue)", sha256: ""),
                returnPickled: options.returnPickled, queue: queue.description)
            let (folder, reader) = try open(manifest, inputFile)
            let progress = makeProgress(inputFile, digest, folder, logger: logger)
            let run = BatchQueueRun(
                queue: batchQueue, reader: reader, output: folder, progress: progress, maxFailures: options.maxFailures)
            let end = await drive(run.run, interrupt: run.interrupt, progress, folder, logger)
            finish(end, progress: progress, folder: folder, manifest: manifest, environment: environment(), logger)
        }
        if options.processes > 1 {
            let resolved = try await BundleSession.resolve(bundle, options: runtime.bundleSource, logger: logger)
            let manifest = BatchManifest(
                input: inputDescription, bundle: try bundleDescription(resolved.directory),
                returnPickled: options.returnPickled, queue: nil)
            let (folder, reader) = try open(manifest, inputFile)
            let answering = try await ProcessAnswering.start(
                count: options.processes, perWorker: options.perWorker, arguments: CommandLine.arguments)
            let (end, progress) = await runHere(answering, reader, folder, inputFile, digest, logger)
            var facts = environment()
            facts["python_env"] = try? runtime.locateEnvironment().root.path
            finish(end, progress: progress, folder: folder, manifest: manifest, environment: facts, logger)
        }
        let session = try await BundleSession.open(bundle, runtime: runtime, logger: logger)
        defer { session.close() }
        let manifest = BatchManifest(
            input: inputDescription, bundle: try bundleDescription(session.bundle.bundle),
            returnPickled: options.returnPickled, queue: nil)
        let (folder, reader) = try open(manifest, inputFile)
        let runner = try await makeRunner(session, results: folder.picklesFolder, logger: logger)
        let answering = SlotAnswering(runner: runner, inputs: download.localProducers)
        let (end, progress) = await runHere(answering, reader, folder, inputFile, digest, logger)
        session.close()
        var facts = environment()
        facts["python_env"] = try? runtime.locateEnvironment().root.path
        finish(end, progress: progress, folder: folder, manifest: manifest, environment: facts, logger)
    }

    /// Runs the batch's inputs through `answering` (this process's slots or worker processes).
    private func runHere(
        _ answering: any BatchAnswering, _ reader: sending any BatchInputReader, _ folder: BatchOutput,
        _ inputFile: BatchInputFile, _ digest: FileDigest?, _ logger: Logger
    ) async -> (end: BatchRun.End, progress: BatchProgress) {
        let progress = makeProgress(inputFile, digest, folder, logger: logger)
        let run = BatchRun(
            answering: answering, reader: reader, output: folder,
            configuration: .init(maxFailures: options.maxFailures), progress: progress)
        return (await drive(run.run, interrupt: run.interrupt, progress, folder, logger), progress)
    }

    /// A worker process of `--processes` (``BatchWorkerLoop``): loads the bundle, then answers
    /// the chunks its batch sends until the batch ends.
    private func runAsWorkerProcess(logger: Logger) async throws -> Never {
        let session = try await BundleSession.open(bundle, runtime: runtime, logger: logger)
        let pickles = URL(filePath: output).appending(path: BatchOutput.Name.pickles)
        let runner = try await makeRunner(session, results: pickles, logger: logger)
        await BatchWorkerLoop.serve(SlotAnswering(runner: runner, inputs: download.localProducers))
    }

    /// The output folder for `manifest`, and a reader of the input from its start.
    private func open(_ manifest: BatchManifest, _ inputFile: BatchInputFile) throws(CLIError) -> (
        BatchOutput, any BatchInputReader
    ) {
        do {
            let folder = try BatchOutput(folder: URL(filePath: output), manifest: manifest, restart: options.restart)
            return (folder, try inputFile.open(returnPickled: options.returnPickled))
        } catch let error as BatchOutputError {
            throw CLIError(message: error.message)
        } catch let error as BatchInputError {
            throw CLIError(message: error.message)
        } catch {
            throw CLIError(message: "\(error)")
        }
    }

    private func makeProgress(
        _ inputFile: BatchInputFile, _ digest: FileDigest?, _ folder: BatchOutput, logger: Logger
    ) -> BatchProgress {
        let progress = BatchProgress(
            total: inputFile.estimatedTotal(digest), previouslyDone: folder.previous.done.count,
            previouslyFailed: folder.previous.counts["FAILURE", default: 0])
        if progress.previouslyDone > 0 {
            logger.info("resuming: \(progress.previouslyDone) inputs already have their results in \(output)")
        }
        return progress
    }

    private func drive(
        _ work: @escaping @Sendable () async -> BatchRun.End, interrupt: @escaping @Sendable () -> Void,
        _ progress: BatchProgress, _ folder: BatchOutput, _ logger: Logger
    ) async -> BatchRun.End {
        await BatchDrive.run(
            work, interrupt: interrupt,
            reporter: ProgressReporter(progress, interval: .seconds(options.progressInterval)), output: folder,
            drainTimeout: .seconds(options.drainTimeout), logger: logger)
    }

    /// Writes the summary, says how the batch stands, and exits with its status: predicts still
    /// running after an interrupted drain hold their threads, so the process exits rather than
    /// waits for them.
    private func finish(
        _ end: BatchRun.End, progress: BatchProgress, folder: BatchOutput, manifest: BatchManifest,
        environment: [String: String], _ logger: Logger
    ) -> Never {
        var end = end
        do {
            try folder.sync()
        } catch {
            end = .outputError(error.message)
        }
        let summary = BatchSummary(
            end: end, progress: progress.snapshot(), counts: folder.counts, startedAt: startedAt(progress),
            manifest: manifest, environment: environment, peakRSSBytes: ProcessFacts.peakRSS())
        do {
            try folder.writeSummary(summary)
        } catch {
            logger.error("\(error.message)")
        }
        FileHandle.standardError.write(Data("\(summary.line)\n".utf8))
        switch end {
        case .finished: Foundation.exit(summary.byStatus["FAILURE", default: 0] == 0 ? 0 : 1)
        case .maxFailures: Foundation.exit(1)
        case .interrupted: Foundation.exit(130)
        case .workerError(let message):
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(1)
        case .inputError(let message), .outputError(let message):
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(2)
        }
    }

    /// When the run started, as a date.
    private func startedAt(_ progress: BatchProgress) -> Date {
        Date(timeIntervalSinceNow: -((ContinuousClock.now - progress.start) / .seconds(1)))
    }

    private func makeRunner(_ session: BundleSession, results: URL, logger: Logger) async throws(CLIError)
        -> TaskRunner
    {
        var configuration = TaskRunner.Configuration()
        configuration.taskTimeout = options.taskTimeout.map { .seconds($0) }
        // One line per input would drown the progress: tasks are logged only at debug level.
        var taskLogger = logger
        taskLogger.logLevel = max(logger.logLevel, .notice)
        let readiness = Readiness(readyFile: nil, parts: 1)
        readiness.partStarted()
        return TaskRunner(
            executor: RequestExecutor(results: DirectoryResultStore(folder: results), logger: taskLogger),
            slots: SlotPool(try await session.makeSlots(count: options.perWorker)), readiness: readiness,
            metrics: WorkerMetrics(), configuration: configuration)
    }

    private func bundleDescription(_ directory: BundleDirectory) throws(CLIError) -> BatchManifest.Bundle {
        do throws(BatchInputError) {
            let digest = try FileDigest.of([
                directory.folder.appending(path: BundleDirectory.metadataName).path, directory.artifact.path,
            ])
            return .init(
                name: directory.metadata.bundleName, location: bundle ?? "(from the environment)",
                sha256: digest.sha256)
        } catch {
            throw CLIError(message: error.message)
        }
    }

    /// The worker and its settings for the summary: with a queue, the workers' own settings are
    /// theirs, so only the queue is named.
    private func environment() -> [String: String] {
        var facts = ["launch_worker": LaunchWorker.version, "host": ProcessInfo.processInfo.hostName]
        if let queue = queueOptions.queue {
            facts["queue"] = queue.description
        } else {
            facts["python"] = PythonEnvironment.linkedVersion
            facts["per_worker"] = String(options.perWorker)
            facts["processes"] = String(options.processes)
            facts["task_timeout_s"] = options.taskTimeout.map { String($0) }
        }
        return facts
    }
}

extension BatchInputFile.Format: ExpressibleByArgument {}
