import Foundation

/// Autoscaling, as llm-engine's: wanted = clamp(ceil((running + waiting) / per_worker), min,
/// max); up at once, down one worker at a time once the load has needed fewer workers for the
/// cooldown. A worker that died is replaced by the same rule, after a pause that doubles with
/// each death (0.5 s to 30 s) until every worker is ready again, so a bundle that ends its
/// process is not restarted in a tight loop.
extension EndpointRunner {
    /// The tasks running and waiting: the queue's (async) or the requests being forwarded (sync).
    func currentLoad() async -> Int {
        guard let queue else { return dispatch.inFlight + waiting }
        return await queue.load()
    }

    /// How many workers the load wants, within min and max.
    func wantedWorkers(load: Int) -> Int {
        let settings = record.settings
        let byLoad = (load + settings.perWorker - 1) / settings.perWorker
        return min(max(byLoad, settings.minWorkers), settings.maxWorkers)
    }

    /// One look: forget workers that died, start what the load wants, stop one extra after the
    /// cooldown.
    func scale() async {
        // Taken out before the wait for their logs' last lines, so nothing else sees them meanwhile.
        let ended = workers.filter { !$0.isRunning }
        workers.removeAll { worker in ended.contains { $0 === worker } }
        for worker in ended {
            restartPause = min(max(restartPause * 2, .milliseconds(500)), .seconds(30))
            nextStart = .now + restartPause
            let tail = await worker.logTail(lines: 5)
            logger.warning(
                "worker ended; replacing it",
                metadata: [
                    "worker": "\(worker.number)", "how": "\(worker.ending)", "after": "\(restartPause)",
                    "log": "\(tail)",
                ])
            context.gpus.give(worker.devices)
        }
        if !workers.isEmpty, workers.allSatisfy(\.isReady) { restartPause = .zero }
        let wanted = wantedWorkers(load: await currentLoad())
        if wanted >= workers.count { lastFullyNeeded = .now }
        if wanted > workers.count, ContinuousClock.now >= nextStart {
            logger.info("scaling up", metadata: ["from": "\(workers.count)", "to": "\(wanted)"])
            for _ in workers.count..<wanted { _ = startWorker() }
        } else if wanted < workers.count, ContinuousClock.now - lastFullyNeeded >= context.scaleDownCooldown {
            // The newest worker goes first; it drains what it runs before it exits.
            let worker = workers[workers.count - 1]
            logger.info("scaling down", metadata: ["worker": "\(worker.number)", "to": "\(workers.count - 1)"])
            await retire(worker)
            lastFullyNeeded = .now
        }
    }
}
