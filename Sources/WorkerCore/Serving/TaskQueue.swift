import Foundation

/// Where tasks come from and where their answers go: the seam between the serving loop and
/// a queue (the file spool, Redis).
///
/// A queue hands out a task at most once at a time; the loop answers each task it got with
/// ``finish(_:response:timings:disposition:)`` or gives it back with ``release(_:)``.
public protocol TaskQueue: Sendable {
    /// Claims the next waiting task, or returns nil when none waits now.
    ///
    /// - Throws: ``QueueUnavailableError`` when the queue cannot be used now but may be later
    ///   (the serving loop then shows the worker not ready and keeps trying); any other error
    ///   ends the loop.
    func next() async throws -> QueuedTask?

    /// Claims up to `limit` waiting tasks (the loop's free slots), none when none waits now; a
    /// queue whose claims are round trips takes them in one.
    func next(upTo limit: Int) async throws -> [QueuedTask]

    /// Returns when a task may be waiting (or after a while): the loop calls it when
    /// ``next()`` found nothing.
    func waitForTasks() async throws

    /// Whether nothing waits in the queue, asked once ``next()`` found nothing: the loop's
    /// `exitWhenEmpty` stops only when this says so. A queue holding something that cannot be
    /// claimed yet (a spool file a producer is still writing, a task that waits to run alone)
    /// says false.
    func isEmpty() async -> Bool

    /// Stores the task's response; the task is then done. A queue may make the response
    /// durable after this returns (the spool commits answers in groups), provided that a crash
    /// from then on neither loses the answer nor runs the task again.
    ///
    /// - Throws: ``DurableWriteError`` when the response cannot be stored; the task then stays
    ///   the loop's to release.
    func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition
    ) async throws

    /// Stores the task's response as ``finish(_:response:timings:disposition:)`` does, then
    /// claims up to `limit` more tasks as ``next(upTo:)`` does: a queue whose calls are round
    /// trips does both in one. A claim that fails claims none (the loop's own claim meets the
    /// error). It may block the calling thread for its I/O (the spool's durable writes, a Redis
    /// round trip): the loop calls it from a task on the slot's executor, never on Swift's
    /// cooperative pool.
    func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition,
        thenClaimUpTo limit: Int
    ) async throws -> [QueuedTask]

    /// Gives a task back to the queue untouched, for another run; its attempt is not counted.
    func release(_ task: QueuedTask) async throws
}

extension TaskQueue {
    /// True: a queue whose every waiting task can be claimed is empty when ``next()`` found none.
    public func isEmpty() async -> Bool { true }

    /// One ``next()`` after another, until `limit` or an empty queue.
    public func next(upTo limit: Int) async throws -> [QueuedTask] {
        var tasks: [QueuedTask] = []
        while tasks.count < limit, let task = try await next() { tasks.append(task) }
        return tasks
    }

    /// ``finish(_:response:timings:disposition:)``, then ``next(upTo:)``.
    public func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition,
        thenClaimUpTo limit: Int
    ) async throws -> [QueuedTask] {
        try await finish(task, response: response, timings: timings, disposition: disposition)
        guard limit > 0 else { return [] }
        return (try? await next(upTo: limit)) ?? []
    }
}

/// A queue that cannot be used now but may be later, such as a spool whose folder was deleted:
/// ``TaskQueue/next()`` throws it, and the serving loop shows the worker not ready
/// (``Readiness/Hold/queueUnavailable``) until a claim works again.
public struct QueueUnavailableError: Error, Sendable, CustomStringConvertible {
    /// Why, and what would make the queue usable again.
    public var description: String

    /// An error saying why the queue cannot be used.
    public init(_ description: String) {
        self.description = description
    }
}

/// What became of a finished task.
public enum TaskDisposition: Sendable, Equatable {
    /// It ran (successfully or not).
    case answered
    /// It is corrupt and must never run; a queue keeps it aside (the spool's `dead/`).
    case rejected
}

/// A task claimed from a queue.
public struct QueuedTask: Sendable, Equatable {
    /// The task's id, unique in its queue.
    public var id: String
    /// The request body as the producer wrote it, not yet decoded.
    public var body: [UInt8]
    /// Which run of the task this is, from 1.
    public var attempt: Int
    /// When the producer queued it, when known.
    public var queuedAt: Date?

    /// Makes a task from its parts.
    public init(id: String, body: [UInt8], attempt: Int = 1, queuedAt: Date? = nil) {
        self.id = id
        self.body = body
        self.attempt = attempt
        self.queuedAt = queuedAt
    }
}
