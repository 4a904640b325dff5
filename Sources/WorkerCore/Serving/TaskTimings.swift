import Foundation

/// When a task was queued, started and finished, for its response.
public struct TaskTimings: Sendable, Equatable {
    /// When the producer queued it, when known.
    public var queuedAt: Date?
    /// When the worker started it.
    public var startedAt: Date
    /// When its response was ready.
    public var finishedAt: Date

    /// Makes timings from their parts.
    public init(queuedAt: Date?, startedAt: Date, finishedAt: Date) {
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// Milliseconds from queueing to the start, when the queueing time is known.
    public var queueMilliseconds: Int? {
        queuedAt.map { max(0, Int((startedAt.timeIntervalSince($0) * 1000).rounded())) }
    }

    /// Milliseconds from the start to the response.
    public var runMilliseconds: Int {
        max(0, Int((finishedAt.timeIntervalSince(startedAt) * 1000).rounded()))
    }
}
