import Foundation
import Logging

/// Every batch job's ``BatchJobRunner``, by id (each job's owner is checked in the database).
actor BatchJobFleet {
    private var runners: [String: BatchJobRunner] = [:]
    private let stateDirectory: URL
    private let executable: String
    private let logger: Logger

    init(stateDirectory: URL, executable: String, logger: Logger) {
        self.stateDirectory = stateDirectory
        self.executable = executable
        self.logger = logger
    }

    /// The files of job `id`.
    nonisolated func files(_ id: String) -> BatchJobFiles {
        BatchJobFiles(stateDirectory: stateDirectory, id: id)
    }

    /// Starts (or, after a restart, resumes) a job.
    func launch(_ record: BatchJobRecord) async {
        let runner = BatchJobRunner(record: record, files: files(record.id), executable: executable, logger: logger)
        runners[record.id] = runner
        await runner.start()
    }

    /// Job `id`'s runner.
    func runner(_ id: String) -> BatchJobRunner? {
        runners[id]
    }

    /// Forgets the jobs that ended before `cutoff`, removing their folders.
    ///
    /// - Returns: their ids.
    func expire(endedBefore cutoff: Date) async -> [String] {
        var expired: [String] = []
        for (id, runner) in runners where await runner.hasEnded(before: cutoff) {
            runners[id] = nil
            try? FileManager.default.removeItem(at: runner.files.folder)
            expired.append(id)
        }
        return expired
    }

    /// Stops every running job (they resume when the gateway starts again).
    func stopAll() async {
        for runner in runners.values { await runner.stop() }
    }
}
