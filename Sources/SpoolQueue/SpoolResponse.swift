import Foundation
import WorkerCore

/// A response file in `responses/`: Launch's async task response plus the run's attempt and
/// timings.
public struct SpoolResponse: Codable, Sendable, Equatable {
    /// The task's id.
    public var taskID: String
    /// `SUCCESS` or `FAILURE`.
    public var status: TaskStatus
    /// `json.dumps(output)`.
    public var result: String?
    /// Where the pickled output is.
    public var resultURL: String?
    /// A failure's traceback or reason.
    public var traceback: String?
    /// Which run answered it, from 1.
    public var attempt: Int?
    /// When it was queued, started and finished.
    public var timings: Timings?

    /// When a task was queued, started and finished, in ISO 8601 UTC with milliseconds.
    public struct Timings: Codable, Sendable, Equatable {
        public var queuedAt: String?
        public var startedAt: String
        public var finishedAt: String
        public var queueMilliseconds: Int?
        public var runMilliseconds: Int

        enum CodingKeys: String, CodingKey {
            case queuedAt = "queued_at"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case queueMilliseconds = "queue_ms"
            case runMilliseconds = "run_ms"
        }
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case resultURL = "result_url"
        case status, result, traceback, attempt, timings
    }

    /// The response file for `response` to `task`.
    public init(task: QueuedTask, response: TaskResponse, timings: TaskTimings?) {
        taskID = task.id
        status = response.status
        result = response.result
        resultURL = response.resultURL
        traceback = response.traceback
        attempt = task.attempt
        self.timings = timings.map { timings in
            Timings(
                queuedAt: timings.queuedAt.map(Self.timestamp), startedAt: Self.timestamp(timings.startedAt),
                finishedAt: Self.timestamp(timings.finishedAt), queueMilliseconds: timings.queueMilliseconds,
                runMilliseconds: timings.runMilliseconds)
        }
    }

    /// The response as JSON bytes, keys sorted.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and an enum cannot fail to encode.
        return (try? encoder.encode(self)) ?? Data()
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
