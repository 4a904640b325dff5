import Foundation
import Logging
import RedisQueue
import ServiceLifecycle
import SpoolQueue
import WorkerCore

/// The queue `serve` takes tasks from, with the settings of its kind: the one place that turns a
/// `--queue` address into a queue. A new queue kind is a case of ``QueueAddress`` (its parsing),
/// its options, and its branch in ``prepare(logger:)``.
struct QueueSource: Sendable {
    let address: QueueAddress
    let spool: SpoolQueue.Configuration
    let redis: RedisOptions

    /// Where pickled results go unless `--results-dir` says: the spool's `results/`; nil for a
    /// queue without a folder of its own.
    var resultsFolder: URL? { address.spoolLayout?.results }

    /// The policy for the queue's tasks' inputs: a spool's producers write into a folder of this
    /// machine, so its tasks may name any local file; a broker's producers may be anywhere, so
    /// Redis tasks get the network's policy (local files only under `--url-root`).
    func inputs(local: InputPolicy, network: InputPolicy) -> InputPolicy {
        switch address {
        case .spool: local
        case .redis: network
        }
    }

    /// What the slots wait on: a Redis slot stores each result and claims its next task in a
    /// round trip of its own.
    var slotsWait: PythonSlot.Waits {
        switch address {
        case .spool: .calls
        case .redis: .brokerRoundTrips
        }
    }

    /// Reaches the queue's backend before the bundle loads and returns what opens the queue once
    /// it has: a Redis broker must answer (and take the password) now; a spool registers this
    /// worker only when it opens, so its lease starts when the worker can serve.
    func prepare(logger: Logger) async throws(CLIError) -> @Sendable () throws(CLIError) -> any TaskQueue & Service {
        switch address {
        case .spool(let layout):
            return { [spool] () throws(CLIError) in
                do {
                    let queue = try SpoolQueue(layout: layout, configuration: spool, logger: logger)
                    logger.info(
                        "serving the spool",
                        metadata: ["queue": "\(layout.root.path)", "worker_id": "\(queue.workerID)"])
                    return queue
                } catch {
                    throw CLIError(message: "\(error)")
                }
            }
        case .redis(let address):
            let plan = try redis.plan(address)
            let queue = RedisTaskQueue(endpoint: plan.endpoint, configuration: plan.configuration, logger: logger)
            do {
                try await queue.checkConnection()
            } catch {
                throw CLIError(message: "cannot use the Redis broker at \(plan.endpoint): \(error)")
            }
            return { () throws(CLIError) in
                logger.info("serving the Celery queue", metadata: ["broker": "\(queue.address)"])
                return queue
            }
        }
    }
}
