import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One batch job: its child `launch-worker batch` process and its status, as the client reads
/// it (`PENDING`, `RUNNING`, `SUCCESS`, `FAILURE`, `CANCELLED`, `TIMEOUT`). The batch command
/// resumes where it stopped, so a job the gateway stopped (or lost, in a restart) runs on from
/// its journal when started again; one cancelled or timed out stays so (its `ended` file), with
/// the results it wrote.
actor BatchJobRunner {
    /// How a job was ended before its batch finished.
    enum Ending: String, Sendable {
        case cancelled = "CANCELLED"
        case timeout = "TIMEOUT"
    }

    let record: BatchJobRecord
    let files: BatchJobFiles
    private let executable: String
    private var process: Process?
    private var finishedAt: Date?
    private var ending: Ending?
    private var timer: Task<Void, Never>?
    private let logger: Logger

    init(record: BatchJobRecord, files: BatchJobFiles, executable: String, logger: Logger) {
        self.record = record
        self.files = files
        self.executable = executable
        var logger = logger
        logger[metadataKey: "batch_job"] = "\(record.id)"
        self.logger = logger
    }

    /// Starts (or resumes) the batch, unless its summary says it is complete, it was cancelled,
    /// or its time is up; stops it as TIMEOUT when its time runs out.
    func start() {
        ending = (try? String(contentsOf: files.ending, encoding: .utf8)).flatMap {
            Ending(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard !files.isComplete, ending == nil else {
            finishedAt = Date()
            return
        }
        let left =
            record.createdAt + (record.timeoutSeconds ?? BatchJobRecord.defaultTimeout) - Date().timeIntervalSince1970
        guard left > 0 else {
            end(.timeout)
            return
        }
        let process = Process()
        process.executableURL = URL(filePath: executable)
        process.arguments =
            [
                "batch", record.bundleFolder, "--input", files.input.path, "--output", files.output.path,
                "--per-worker",
                String(record.perWorker), "--progress-interval", "5",
            ] + (record.pickled ? ["--return-pickled"] : [])
        // The batch stops once the gateway is gone, even killed (ParentWatch), and resumes when
        // a gateway starts again.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["LAUNCH_WORKER_PARENT_PID": String(getpid())], uniquingKeysWith: { $1 })
        process.standardInput = FileHandle.nullDevice
        if !FileManager.default.fileExists(atPath: files.log.path) {
            _ = FileManager.default.createFile(atPath: files.log.path, contents: nil)
        }
        let log = try? FileHandle(forWritingTo: files.log)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
            logger.info("batch job started", metadata: ["pid": "\(process.processIdentifier)"])
            self.process = process
            timer = Task {
                try? await Task.sleep(for: .seconds(left))
                if !Task.isCancelled { self.end(.timeout) }
            }
        } catch {
            log?.write(Data("cannot run \(executable) batch: \(error)\n".utf8))
            finishedAt = Date()
        }
        try? log?.close()
    }

    /// Ends a job that has not finished as `ending` (the cancel route, its timeout): records it,
    /// so a restart does not resume it, and stops the batch (SIGTERM: the inputs in flight
    /// finish and their results are kept).
    ///
    /// - Returns: false when the job had already ended.
    @discardableResult
    func end(_ ending: Ending) -> Bool {
        let unfinished = process?.isRunning ?? (finishedAt == nil)
        guard self.ending == nil, unfinished else { return false }
        self.ending = ending
        finishedAt = Date()
        timer?.cancel()
        try? Data("\(ending.rawValue)\n".utf8).write(to: files.ending, options: .atomic)
        logger.info("batch job ended", metadata: ["status": "\(ending.rawValue)"])
        if let process, process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return true
    }

    /// Whether the job ended (its batch is not running) and its files were last written before
    /// `cutoff`.
    func hasEnded(before cutoff: Date) -> Bool {
        guard process?.isRunning != true else { return false }
        let files = [files.log, files.results, files.ending, files.output.appending(path: "summary.json")]
        let lastChange = files.compactMap(StateExpiry.lastChange).max() ?? .distantPast
        return lastChange < cutoff
    }

    /// Stops the batch (SIGTERM: it finishes what runs and keeps its journal) and waits.
    func stop() async {
        timer?.cancel()
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning { await pause(milliseconds: 20) }
    }

    /// The job as `GET /batch_job/{id}` answers it (JSON); its results are served at `resultsURL`.
    func answer(resultsURL: String) -> Data {
        let status: String
        if let ending {
            status = ending.rawValue
        } else if let process, process.isRunning {
            status = "RUNNING"
        } else if process == nil, finishedAt == nil {
            status = "PENDING"
        } else {
            if finishedAt == nil { finishedAt = Date() }
            status = files.isComplete ? "SUCCESS" : "FAILURE"
        }
        let completed = files.completed
        let end = finishedAt ?? Date()
        return JSONAnswer.data([
            "job_id": record.id, "status": status, "result": resultsURL,
            "duration": Self.duration(end.timeIntervalSince1970 - record.createdAt),
            "num_tasks_pending": max(record.total - completed, 0), "num_tasks_completed": completed,
        ])
    }

    /// `H:MM:SS.ffffff`, as Python prints a `timedelta`.
    private static func duration(_ seconds: Double) -> String {
        let micros = Int((max(seconds, 0) * 1_000_000).rounded())
        let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000)
        let (minutes, rest2) = (rest / 60_000_000, rest % 60_000_000)
        let two = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
        let fraction = String(rest2 % 1_000_000 + 1_000_000).dropFirst()
        return "\(hours):\(two(minutes)):\(two(rest2 / 1_000_000)).\(fraction)"
    }
}
