import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One batch job: its child `launch-worker batch` process and its status, as the client reads
/// it (`PENDING`, `RUNNING`, `SUCCESS`, `FAILURE`). The batch command resumes where it stopped,
/// so a job the gateway stopped (or lost, in a restart) runs on from its journal when started
/// again.
actor BatchJobRunner {
    let record: BatchJobRecord
    let files: BatchJobFiles
    private let executable: String
    private var process: Process?
    private var finishedAt: Date?
    private let logger: Logger

    init(record: BatchJobRecord, files: BatchJobFiles, executable: String, logger: Logger) {
        self.record = record
        self.files = files
        self.executable = executable
        var logger = logger
        logger[metadataKey: "batch_job"] = "\(record.id)"
        self.logger = logger
    }

    /// Starts (or resumes) the batch, unless its summary says it is complete.
    func start() {
        guard !files.isComplete else {
            finishedAt = Date()
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
        } catch {
            log?.write(Data("cannot run \(executable) batch: \(error)\n".utf8))
            finishedAt = Date()
        }
        try? log?.close()
    }

    /// Stops the batch (SIGTERM: it finishes what runs and keeps its journal) and waits.
    func stop() async {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning { await pause(milliseconds: 20) }
    }

    /// The job as `GET /batch_job/{id}` answers it (JSON); its results are served at `resultsURL`.
    func answer(resultsURL: String) -> Data {
        let status: String
        if let process, process.isRunning {
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
