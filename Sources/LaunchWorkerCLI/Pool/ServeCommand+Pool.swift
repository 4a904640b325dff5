import Foundation
import Logging
import RedisQueue

extension ServeCommand {
    /// The pool `serve --processes P` runs: P workers with this command line, each with its own
    /// GPUs; with a Redis queue, a dead process's deliveries are restored at once.
    func poolPlan(logger: Logger) throws(CLIError) -> PoolSupervisor.Plan {
        var plan = PoolSupervisor.Plan(processes: pool.processes, arguments: CommandLine.arguments)
        plan.listen = httpOptions.listen
        plan.readyFile = readyFile.map { URL(filePath: $0) }
        plan.exitWhenEmpty = queueOptions.exitWhenEmpty
        plan.maxTasksPerProcess = pool.maxTasksPerProcess
        plan.maxRSSPerProcess = pool.maxRssPerProcess
        if let devices = try pool.visibleDevices() {
            plan.environment = { ["CUDA_VISIBLE_DEVICES": devices[$0]] }
        }
        if case .redis(let address) = queueOptions.queue {
            let redis = try redisOptions.plan(address)
            let queue = RedisTaskQueue(endpoint: redis.endpoint, configuration: redis.configuration, logger: logger)
            plan.afterDeath = { pid in
                do {
                    _ = try await queue.restoreDeliveries(ofDeadProcess: pid)
                } catch {
                    logger.warning(
                        "cannot restore the tasks of a worker process that died: they return to the queue after --visibility-timeout",
                        metadata: ["pid": "\(pid)", "error": "\(error)"])
                }
            }
        }
        return plan
    }

    /// A single worker's GPUs (`--gpus` without a pool): set before Python starts, so CUDA sees
    /// only them.
    func useGPUsAlone() throws(CLIError) {
        guard let devices = try pool.visibleDevices() else { return }
        setenv("CUDA_VISIBLE_DEVICES", devices[0], 1)
    }
}
