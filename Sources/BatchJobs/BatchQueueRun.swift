import Synchronization
import WorkerCore

/// Runs a batch through a queue that workers elsewhere serve: submits each input as a task named
/// after the batch and the input's index, and records each response as it arrives, in the same
/// output folder, journal and progress as a batch run here.
///
/// At most `window` tasks wait at once, so memory stays flat however long the input. A rerun
/// after a crash or a restart of the command finds the tasks it had submitted by their ids
/// (the folder remembers how far it submitted) and waits for them rather than submitting
/// them again.
public final class BatchQueueRun: Sendable {
    private struct State {
        var reader: any BatchInputReader
        var end: BatchRun.End?
        var inputEnded = false
    }

    private let queue: any BatchQueue
    private let output: BatchOutput
    private let progress: BatchProgress
    private let maxFailures: Int?
    private let window: Int
    private let state: Mutex<State>

    /// A run of `reader`'s inputs through `queue` into `output`, with at most `window` waiting.
    public init(
        queue: any BatchQueue, reader: sending any BatchInputReader, output: BatchOutput, progress: BatchProgress,
        maxFailures: Int?, window: Int = 1000
    ) {
        self.queue = queue
        self.output = output
        self.progress = progress
        self.maxFailures = maxFailures
        self.window = window
        self.state = Mutex(State(reader: reader))
    }

    /// Submits and collects until every input has its result or something stops it; the tasks
    /// still waiting then stay queued, and a rerun collects them.
    public func run() async -> BatchRun.End {
        var waiting: [String: BatchItem] = [:]
        var submitted = output.previouslySubmitted
        var pause = Duration.milliseconds(5)
        while stopReason == nil {
            do {
                try await fill(&waiting, submitted: &submitted)
            } catch {
                stop(.outputError("cannot submit to the queue: \(error.message); rerun the same command to resume"))
                break
            }
            output.recordSubmitted(submitted)
            if waiting.isEmpty, state.withLock({ $0.inputEnded }) { break }
            let answered: [String: TaskResponse]
            do {
                answered = try await queue.responses(Array(waiting.keys))
            } catch {
                stop(
                    .outputError("cannot read the queue's results: \(error.message); rerun the same command to resume"))
                break
            }
            for (id, response) in answered {
                guard let item = waiting.removeValue(forKey: id) else { continue }
                record(item, response)
            }
            if answered.isEmpty {
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(250))
            } else {
                pause = .milliseconds(5)
            }
        }
        return state.withLock { $0.end ?? .finished }
    }

    /// Stops submitting and waiting: ``run()`` returns ``BatchRun/End/interrupted``.
    public func interrupt() {
        stop(.interrupted)
    }

    /// The task id of input `index`: the batch's id and the index, the same in every run.
    public func taskID(_ index: Int) -> String { "\(output.batchID)-\(index)" }

    /// Reads inputs until `window` wait: bad rows are recorded at once, inputs an earlier run
    /// submitted are only waited for, the others are submitted.
    private func fill(_ waiting: inout [String: BatchItem], submitted: inout Int) async throws(BatchQueueError) {
        while waiting.count < window, stopReason == nil, let item = take() {
            if output.previous.done.contains(item.index) {
                progress.skipped()
                continue
            }
            switch item.request {
            case .failure(let badRow):
                record(item, .failure(traceback: badRow.description))
            case .success(let request):
                let id = taskID(item.index)
                if item.index >= submitted {
                    try await queue.submit(request, id: id)
                    submitted = item.index + 1
                }
                waiting[id] = item
            }
        }
    }

    private func record(_ item: BatchItem, _ response: TaskResponse) {
        let end = output.recordCounting([BatchResult(item, response)], progress: progress, maxFailures: maxFailures)
        if let end { stop(end) }
    }

    private var stopReason: BatchRun.End? { state.withLock { $0.end } }

    private func take() -> BatchItem? {
        state.withLock { state -> BatchItem? in
            do throws(BatchInputError) {
                guard let item = try state.reader.next() else {
                    state.inputEnded = true
                    return nil
                }
                return item
            } catch {
                state.end = state.end ?? .inputError(error.message)
                return nil
            }
        }
    }

    private func stop(_ end: BatchRun.End) {
        state.withLock { state in
            if state.end == nil { state.end = end }
        }
    }
}
