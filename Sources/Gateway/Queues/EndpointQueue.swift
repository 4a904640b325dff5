import Foundation
import WorkerCore

/// Where an async endpoint's tasks wait for its workers and where their answers are read: a
/// spool under the state folder (``SpoolEndpointQueue``), or a Celery queue on Redis as
/// llm-engine lays it out (``RedisEndpointQueue``, `--broker`).
protocol EndpointQueue: Sendable {
    /// Its workers' arguments for it: `--queue` and what it needs.
    var workerArguments: [String] { get }

    /// Queues a task (the request body, a JSON object) under `id`.
    ///
    /// - Throws: ``GatewayRefusal`` when the queue cannot take it (nothing was queued).
    func submit(_ body: [UInt8], id: String) async throws(GatewayRefusal)

    /// Task `id`'s state and, once it ended, its answer.
    func outcome(of id: String) async throws(GatewayRefusal) -> TaskOutcome

    /// Tasks waiting and running: the autoscaler's load.
    func load() async -> Int
}

/// An async task's state and answer, from whichever queue holds it.
struct TaskOutcome: Sendable, Equatable {
    var status: TaskStatus
    var result: String?
    var resultURL: String?
    var traceback: String?
}

/// Makes each async endpoint's queue: a spool, or a Redis queue on `--broker`.
struct EndpointQueues: Sendable {
    /// The broker, when async endpoints queue on Redis.
    var broker: RedisBroker?

    /// The queue of the async endpoint `record`.
    func queue(for record: EndpointRecord, files: EndpointFiles) -> any EndpointQueue {
        if let broker { return RedisEndpointQueue(broker: broker, name: record.destination) }
        return SpoolEndpointQueue(root: files.spool, files: files)
    }
}
