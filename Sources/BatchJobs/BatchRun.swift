import Logging
import Synchronization
import WorkerCore

/// Runs a batch's inputs on the worker's slots and records each result in its output folder.
///
/// One caller per slot, each on its slot's executor (as the queue worker runs its tasks), takes
/// the next input, skips it when an earlier run finished it, answers a bad row FAILURE without
/// running it, and otherwise runs it through the ``TaskRunner``; the inputs are read one at a
/// time as the callers take them, so the batch's memory does not grow with its input.
public final class BatchRun: Sendable {
    /// What the run needs besides its parts.
    public struct Configuration: Sendable {
        /// Stop taking inputs once this many have failed (earlier runs' failures included).
        public var maxFailures: Int?
        /// Which inputs' `url`s may be read: the batch's inputs are its user's own.
        public var inputs: InputPolicy

        /// A configuration from its parts.
        public init(maxFailures: Int?, inputs: InputPolicy) {
            self.maxFailures = maxFailures
            self.inputs = inputs
        }
    }

    /// Why a run ended.
    public enum End: Sendable, Equatable {
        /// Every input has its result.
        case finished
        /// `--max-failures` inputs failed.
        case maxFailures
        /// It was asked to stop (a signal).
        case interrupted
        /// The input could not be read on (the message names the line).
        case inputError(String)
        /// A result could not be written.
        case outputError(String)
    }

    private struct Feed {
        var reader: any BatchInputReader
        var end: End?
    }

    private let runner: TaskRunner
    private let output: BatchOutput
    private let configuration: Configuration
    private let progress: BatchProgress
    private let feed: Mutex<Feed>
    private let quiet: Logger

    /// A run of `reader`'s inputs through `runner`, into `output`, counted by `progress`.
    public init(
        runner: TaskRunner, reader: sending any BatchInputReader, output: BatchOutput, configuration: Configuration,
        progress: BatchProgress
    ) {
        self.runner = runner
        self.output = output
        self.configuration = configuration
        self.progress = progress
        self.feed = Mutex(Feed(reader: reader))
        self.quiet = Logger(label: "batch") { _ in SwiftLogNoOpLogHandler() }
    }

    /// Runs until every input has its result, or something stops it; inputs in flight then
    /// finish first.
    public func run() async -> End {
        await withDiscardingTaskGroup { group in
            for slot in runner.slots.all {
                group.addTask(executorPreference: slot.executor) { await self.callerLoop() }
            }
        }
        return feed.withLock { $0.end ?? .finished }
    }

    /// Stops taking inputs: those in flight finish, and ``run()`` returns ``End/interrupted``.
    public func interrupt() {
        stop(.interrupted)
    }

    private func callerLoop() async {
        while let item = take() {
            if output.previous.done.contains(item.index) {
                progress.skipped()
                continue
            }
            guard let response = await answer(item) else { return }
            if let end = output.recordCounting(
                item, response, progress: progress, maxFailures: configuration.maxFailures)
            {
                stop(end)
                return
            }
        }
    }

    /// The response to `item`, nil when the run must stop (it says why).
    private func answer(_ item: BatchItem) async -> TaskResponse? {
        let request: PredictRequest
        switch item.request {
        case .failure(let badRow): return .failure(traceback: badRow.description)
        case .success(let decoded): request = decoded
        }
        guard let slot = await runner.slots.acquire() else {
            stop(.interrupted)
            return nil
        }
        defer { runner.slots.release(slot) }
        do {
            // Pickles are named after the input's line, which no other input shares.
            return try await runner.run(
                request, taskID: String(item.line), on: slot, inputs: configuration.inputs, waited: nil, logger: quiet
            ).response
        } catch let error as DurableWriteError {
            stop(.outputError("the pickled result of line \(item.line) cannot be stored: \(error); rerun to resume"))
        } catch {
            stop(.interrupted)
        }
        return nil
    }

    /// The next input, nil once the run stops or the input ends.
    private func take() -> BatchItem? {
        feed.withLock { feed -> BatchItem? in
            guard feed.end == nil else { return nil }
            do throws(BatchInputError) {
                return try feed.reader.next()
            } catch {
                feed.end = .inputError(error.message)
                return nil
            }
        }
    }

    private func stop(_ end: End) {
        feed.withLock { feed in
            if feed.end == nil { feed.end = end }
        }
    }
}
