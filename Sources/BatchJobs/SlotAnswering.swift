import Logging
import WorkerCore

/// Answers a batch's chunks on this process's slots, one chunk per slot at a time.
///
/// The chunk's `args` inputs that want a JSON result go to predict in one call per run of them
/// (``ArgsChunkPredicting``: the GIL taken once, no per-input trip through the task runner),
/// unless `--task-timeout` is set, which needs each input on its own to interrupt it; the
/// others (`url`, pickled results) each run through the ``TaskRunner`` as a queue's task does.
/// Both give the same response text.
public struct SlotAnswering: BatchAnswering {
    private let runner: TaskRunner
    private let inputs: InputPolicy
    private let quiet = Logger(label: "batch") { _ in SwiftLogNoOpLogHandler() }

    /// Answers on `runner`'s slots, reading `url` inputs as `inputs` allows.
    public init(runner: TaskRunner, inputs: InputPolicy) {
        self.runner = runner
        self.inputs = inputs
    }

    public var lanes: [(any TaskExecutor)?] { runner.slots.all.map { $0.executor } }

    public func answer(_ requests: [BatchRequest]) async throws(BatchStop) -> [TaskResponse] {
        guard let slot = await runner.slots.acquire() else { throw .interrupted }
        defer { runner.slots.release(slot) }
        let chunked = (slot as? any ArgsChunkPredicting).flatMap { runner.configuration.taskTimeout == nil ? $0 : nil }
        var responses: [TaskResponse] = []
        responses.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            if let chunked, let argsJSON = Self.argsJSON(requests[start].request) {
                var texts = [argsJSON]
                while start + texts.count < requests.count,
                    let next = Self.argsJSON(requests[start + texts.count].request)
                {
                    texts.append(next)
                }
                responses += try await Self.answerArgs(texts, on: chunked)
                start += texts.count
            } else {
                responses.append(try await answerOne(requests[start], on: slot))
                start += 1
            }
        }
        return responses
    }

    /// The args of a request that can go in a chunk: `args`, with a JSON result.
    private static func argsJSON(_ request: PredictRequest) -> String? {
        guard !request.resultIsPickled, case .args(let json) = request.input else { return nil }
        return json
    }

    private static func answerArgs(_ texts: [String], on slot: any ArgsChunkPredicting) async throws(BatchStop)
        -> [TaskResponse]
    {
        do {
            return try await slot.predictArgs(texts).map { outcome in
                switch outcome {
                case .json(let text): .success(result: text)
                case .failure(let traceback): .failure(traceback: traceback)
                }
            }
        } catch let failure as PredictFailure {
            return Array(repeating: .failure(traceback: failure.traceback), count: texts.count)
        } catch {
            throw .interrupted
        }
    }

    private func answerOne(_ item: BatchRequest, on slot: any Slot) async throws(BatchStop) -> TaskResponse {
        do {
            // Pickles are named after the input's line, which no other input shares.
            return try await runner.run(
                item.request, taskID: String(item.line), on: slot, inputs: inputs, waited: nil, logger: quiet
            ).response
        } catch let error as DurableWriteError {
            throw .output("the pickled result of line \(item.line) cannot be stored: \(error); rerun to resume")
        } catch {
            throw .interrupted
        }
    }
}
