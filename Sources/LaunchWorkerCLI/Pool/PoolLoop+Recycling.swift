import BundleArchive
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Recycling (`--max-tasks-per-process`, `--max-rss-per-process`), as Celery's
/// `max_tasks_per_child` and gunicorn's `--max-requests` do, without a dip in capacity: the
/// replacement starts beside the process due, and only once it is ready is the old one drained
/// (SIGTERM, as a single worker drains: in-flight tasks finish, nothing is lost or run twice).
extension PoolLoop {
    /// Moves place `index` along its recycling: reaps its drained processes, swaps a ready
    /// replacement in, or starts one for a process that is due.
    func recycle(_ index: Int, now: ContinuousClock.Instant) {
        places[index].retiring.removeAll { process in
            guard let exit = reap(process) else { return false }
            logger.info(
                "recycled worker process exited",
                metadata: ["process": "\(index)", "pid": "\(process.pid)", "exit": "\(exit)"])
            return true
        }
        if let successor = places[index].successor {
            if let exit = reap(successor) {
                // Stopped by the drain, or it found the queue empty: no failure.
                guard !draining, !(plan.exitWhenEmpty && exit == .exited(0)) else {
                    places[index].successor = nil
                    return
                }
                let delay = places[index].successorDied(at: now)
                logger.error(
                    "the replacement of a worker process being recycled died (\(exit)) before it was ready; trying again in \(delay.formattedSeconds); its last stderr lines:\n\(lastLines(of: successor))",
                    metadata: ["process": "\(index)", "pid": "\(successor.pid)"])
            } else if successor.isReady, !draining, let current = places[index].process {
                current.send(SIGTERM)
                places[index].retiring.append(current)
                places[index].process = successor
                places[index].successor = nil
                places[index].restartRequested = false
                places[index].readySince = now
                places[index].deathsInARow = 0
                logger.info(
                    "the replacement is ready: draining the recycled worker process",
                    metadata: ["process": "\(index)", "pid": "\(current.pid)", "replacement": "\(successor.pid)"])
            }
            return
        }
        guard !draining, let current = places[index].process, places[index].readySince != nil,
            places[index].successorNotBefore.map({ $0 <= now }) ?? true, let reason = due(index, current)
        else { return }
        places[index].successorNotBefore = nil
        logger.info(
            "recycling worker process (\(reason)): starting its replacement",
            metadata: ["process": "\(index)", "pid": "\(current.pid)"])
        places[index].successor = spawn(index)
        if places[index].successor == nil { _ = places[index].successorDied(at: now) }
    }

    /// Why `process`, in place `index`, is due for replacing, nil while it is not.
    private func due(_ index: Int, _ process: WorkerProcess) -> String? {
        if places[index].restartRequested { return "SIGHUP: a rolling restart" }
        if let maxTasks = plan.maxTasksPerProcess, process.wantsRecycling {
            return "it ran --max-tasks-per-process \(maxTasks) tasks"
        }
        if let limit = plan.maxRSSPerProcess, let resident = process.residentBytes, resident > limit {
            return
                "its resident memory, \(ByteCount.format(resident)), is over --max-rss-per-process \(ByteCount.format(limit))"
        }
        return nil
    }
}
