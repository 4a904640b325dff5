import Foundation
import Logging

/// Keeps the state folder from growing without end (`--keep-results`): what is older than the
/// time kept goes, as Celery's result backend forgets results (after a day by default) — async
/// tasks' rows and their spool answers, pickled results, batch jobs that ended (folder and row),
/// and the logs of workers that have stopped. A deleted endpoint's files and tasks go with it at
/// once (``EndpointFleet/remove(_:owner:)``).
struct StateExpiry: Sendable {
    let database: StateDatabase
    let fleet: EndpointFleet
    let batchJobs: BatchJobFleet
    let stateDirectory: URL
    /// How long results are kept.
    let keep: Duration
    let logger: Logger

    /// Expires what is due now, then again every tenth of the time kept (at most every
    /// minute), until the task is cancelled.
    func run() async {
        let period = min(keep / 10, .seconds(60))
        while !Task.isCancelled {
            await expire()
            try? await Task.sleep(for: period)
        }
    }

    /// Removes what is older than the time kept.
    func expire() async {
        let (seconds, attoseconds) = keep.components
        let cutoff = Date() - (Double(seconds) + Double(attoseconds) / 1e18)
        var removed = 0
        do {
            for task in try await database.expireTasks(queuedBefore: cutoff) {
                let answer = stateDirectory.appending(path: "spools/\(task.endpointID)/responses/\(task.id).json")
                try? FileManager.default.removeItem(at: answer)
                removed += 1
            }
            for id in await batchJobs.expire(endedBefore: cutoff) {
                try await database.deleteBatchJob(id)
                removed += 1
            }
        } catch {
            logger.error("cannot expire old tasks from the state database: \(error)")
        }
        removed += Self.removeFiles(in: stateDirectory.appending(path: "results"), before: cutoff) { _ in true }
        for runner in await fleet.allRunners() { removed += await runner.expireWorkerLogs(before: cutoff) }
        if removed > 0 { logger.info("expired old results", metadata: ["removed": "\(removed)"]) }
    }

    /// Removes the files in `folder` last changed before `cutoff` whose name `chosen` accepts.
    ///
    /// - Returns: how many were removed.
    static func removeFiles(in folder: URL, before cutoff: Date, _ chosen: (String) -> Bool) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed = 0
        for name in names where chosen(name) {
            let file = folder.appending(path: name)
            guard let changed = Self.lastChange(file), changed < cutoff else { continue }
            if (try? FileManager.default.removeItem(at: file)) != nil { removed += 1 }
        }
        return removed
    }

    /// When `file` was last written, nil when it is gone.
    static func lastChange(_ file: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date
    }
}
