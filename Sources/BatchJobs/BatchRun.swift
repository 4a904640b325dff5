import Dispatch
import Synchronization
import WorkerCore

/// Runs a batch's inputs through a ``BatchAnswering`` and records each result in its output
/// folder.
///
/// One caller per lane (a slot, or a worker process's share) takes the next chunk of inputs,
/// skips those an earlier run finished, answers bad rows FAILURE without running them, has the
/// rest answered, and records the chunk's results in input order. Each caller has its next
/// chunk read (on one dispatch queue for all) while its current one is answered, and no further,
/// so the batch's memory does not grow with its input.
///
/// A chunk starts at one input and grows to as many as take about ``chunkTarget`` to answer (at
/// most ``maxChunk``): a slow predict is taken one input at a time, so progress and a stop stay
/// prompt, while trivial ones go in hundreds, each chunk one trip into Python.
public final class BatchRun: Sendable {
    /// What the run needs besides its parts.
    public struct Configuration: Sendable {
        /// Stop taking inputs once this many have failed (earlier runs' failures included).
        public var maxFailures: Int?

        /// A configuration from its parts.
        public init(maxFailures: Int?) {
            self.maxFailures = maxFailures
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
        /// A worker process of `--processes` ended or could not be reached.
        case workerError(String)
    }

    /// How long a chunk should take to answer.
    static let chunkTarget = Duration.milliseconds(20)
    /// The most inputs in one chunk.
    static let maxChunk = 1024

    private let answering: any BatchAnswering
    private let output: BatchOutput
    private let configuration: Configuration
    private let progress: BatchProgress
    /// The input; read on ``reading`` only.
    private let reader: Mutex<any BatchInputReader>
    /// Why the run ended, once it has; apart from the input, so that a lane that asks is not
    /// held while the next chunk is read.
    private let ending = Mutex<End?>(nil)
    /// Where every lane's next chunk is read, one at a time: lanes waiting for the input then
    /// wait here, holding none of Swift's threads, which record results and talk to the worker
    /// processes meanwhile.
    private let reading = DispatchQueue(label: "batch-input")

    /// A run of `reader`'s inputs answered by `answering`, into `output`, counted by `progress`.
    public init(
        answering: any BatchAnswering, reader: sending any BatchInputReader, output: BatchOutput,
        configuration: Configuration, progress: BatchProgress
    ) {
        self.answering = answering
        self.output = output
        self.configuration = configuration
        self.progress = progress
        self.reader = Mutex(reader)
    }

    /// Runs until every input has its result, or something stops it; chunks in flight then
    /// finish first.
    public func run() async -> End {
        await withDiscardingTaskGroup { group in
            for lane in answering.lanes {
                group.addTask(executorPreference: lane) { await self.callerLoop() }
            }
        }
        return ending.withLock { $0 ?? .finished }
    }

    /// Stops taking inputs: chunks in flight finish, and ``run()`` returns ``End/interrupted``.
    public func interrupt() {
        stop(.interrupted)
    }

    private func callerLoop() async {
        let clock = ContinuousClock()
        var size = 1
        // The next chunk is read while this one is answered: with quick predicts, reading the
        // input is as much work as running them, and the lane's thread is the one that runs them.
        var upcoming = readAhead(size)
        while let chunk = await upcoming.value {
            // Read before a stop, but not answered: a rerun answers it.
            guard isTaking else { break }
            upcoming = readAhead(size)
            let started = clock.now
            let requests = chunk.compactMap { item in
                try? item.request.map { BatchRequest(line: item.line, request: $0) }.get()
            }
            var answers: [TaskResponse] = []
            if !requests.isEmpty {
                do throws(BatchStop) {
                    answers = try await answering.answer(requests)
                } catch {
                    stop(error.end)
                    break
                }
            }
            var next = answers.makeIterator()
            let results = chunk.map { item in
                switch item.request {
                case .failure(let badRow): BatchResult(item, .failure(traceback: badRow.description))
                case .success: BatchResult(item, next.next() ?? .failure(traceback: "no answer was given"))
                }
            }
            if let end = output.recordCounting(results, progress: progress, maxFailures: configuration.maxFailures) {
                stop(end)
                break
            }
            size = Self.nextSize(after: size, took: clock.now - started)
        }
        _ = await upcoming.value
    }

    /// The next chunk of up to `size` inputs, read on ``reading``; the task that waits for it
    /// prefers Swift's own executor, never the lane's thread, which is busy with the current chunk.
    private func readAhead(_ size: Int) -> Task<[BatchItem]?, Never> {
        Task(executorPreference: globalConcurrentExecutor) {
            await withCheckedContinuation { continuation in
                self.reading.async { continuation.resume(returning: self.take(size)) }
            }
        }
    }

    /// Whether chunks already read are still to be answered: yes unless the run was stopped,
    /// an input that cannot be read excepted (what was read before it is answered).
    private var isTaking: Bool {
        ending.withLock { end in
            switch end {
            case nil, .inputError: true
            default: false
            }
        }
    }

    /// The next chunk's size after one of `size` inputs took `elapsed`: what fits in
    /// ``chunkTarget`` at that pace, at most double the last and ``maxChunk``.
    static func nextSize(after size: Int, took elapsed: Duration) -> Int {
        let perInput = elapsed / size
        guard perInput > .zero else { return min(size * 2, maxChunk) }
        let fits = Int(chunkTarget / perInput)
        return max(1, min(fits, size * 2, maxChunk))
    }

    /// Up to `size` inputs that still need their results (others are counted as skipped), nil
    /// once the run stops or the input ends.
    private func take(_ size: Int) -> [BatchItem]? {
        guard ending.withLock({ $0 == nil }) else { return nil }
        var chunk: [BatchItem] = []
        chunk.reserveCapacity(size)
        do throws(BatchInputError) {
            try reader.withLock { reader throws(BatchInputError) in
                while chunk.count < size, let item = try reader.next() {
                    if output.previous.done.contains(item.index) {
                        progress.skipped()
                    } else {
                        chunk.append(item)
                    }
                }
            }
        } catch {
            stop(.inputError(error.message))
            // What was read before the bad line is still answered.
        }
        return chunk.isEmpty ? nil : chunk
    }

    private func stop(_ end: End) {
        ending.withLock { ending in
            if ending == nil { ending = end }
        }
    }
}
