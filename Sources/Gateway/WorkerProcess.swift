import CLinux
import Foundation
import HTTPEndpoint
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// One worker of an endpoint: a child `launch-worker serve` process, its ready file, its log
/// (`<state-dir>/logs/<endpoint id>/worker-<n>.log`) and, for a sync endpoint, its Unix socket.
final class WorkerProcess: Sendable {
    /// What a worker serves: where it listens (sync) or the queue it takes tasks from (async:
    /// `--queue spool:DIR` or `--queue redis://...?queue=NAME` with its password file).
    enum FrontEnd: Sendable {
        case socket(URL)
        case queue(arguments: [String])
    }

    /// The worker's number within its endpoint (names its files).
    let number: Int
    /// Its socket or spool.
    let frontEnd: FrontEnd
    /// The file `serve` keeps only while it is ready.
    let readyFile: URL
    /// Everything the worker writes on stdout and stderr.
    let log: WorkerLog
    /// Set once ``log`` holds everything the worker wrote.
    private let relayed: WorkerLogRelay.Finished
    /// The GPUs it holds (its `CUDA_VISIBLE_DEVICES`), given back once it stopped.
    let devices: [String]
    private let process: Process

    /// Starts `executable serve bundle ...` for `frontEnd` with `perWorker` slots, on the GPUs
    /// `devices` (none: `CUDA_VISIBLE_DEVICES` left as it is), logging at `logLevel` (the
    /// gateway's own: a worker at `info` writes a line for every task); `logs` writes its log
    /// and keeps it under its size while the worker lives.
    ///
    /// - Throws: when the process cannot be started (the executable, or no pipe for its log).
    init(
        number: Int, executable: String, bundle: String, frontEnd: FrontEnd, perWorker: Int, files: URL,
        results: URL, devices: [String], logLevel: Logger.Level, logs: WorkerLogRelay
    ) throws {
        self.number = number
        self.frontEnd = frontEnd
        self.devices = devices
        readyFile = files.appending(path: "worker-\(number).ready")
        log = WorkerLog(file: files.appending(path: "worker-\(number).log"))
        try? FileManager.default.removeItem(at: readyFile)
        var pipe: [Int32] = [0, 0]
        guard pipe2(&pipe, O_CLOEXEC) == 0 else {
            throw StartFailure(
                description: "cannot make a pipe for worker \(number)'s log: \(String(cString: strerror(errno)))")
        }
        let output = FileHandle(fileDescriptor: pipe[1], closeOnDealloc: true)
        var arguments = [
            "serve", bundle, "--per-worker", String(perWorker), "--ready-file", readyFile.path, "--results-dir",
            results.path, "--log-level", logLevel.rawValue,
        ]
        if !devices.isEmpty {
            arguments += ["--gpus", String(devices.count), "--devices", devices.joined(separator: ",")]
        }
        switch frontEnd {
        case .socket(let socket): arguments += ["--listen", "unix:\(socket.path)"]
        case .queue(let queue): arguments += queue
        }
        let process = Process()
        process.executableURL = URL(filePath: executable)
        process.arguments = arguments
        // The worker stops once the gateway is gone, even killed (serve's ParentWatch).
        var environment = ProcessInfo.processInfo.environment
        environment["LAUNCH_WORKER_PARENT_PID"] = String(getpid())
        // An event loop per core (NIO's default), not serve's half of the cores (`EventLoopShare`):
        // the sync predicts relayed through the gateway's own loops on the same cores were slower
        // with one loop in the worker (two cores, wrk -c8 through the gateway: 10,100-11,000 req/s
        // against 12,500-13,000 with two). A loop count the gateway was given passes on as it is.
        if environment[EventLoopShare.overrideVariable] == nil {
            environment[EventLoopShare.overrideVariable] = String(System.coreCount)
        }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            close(pipe[0])
            throw error
        }
        try? output.close()
        relayed = logs.relay(log, from: pipe[0])
        self.process = process
    }

    /// Why a worker could not be started.
    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The worker's process id.
    var pid: Int32 { process.processIdentifier }

    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// Whether it serves: running, with its ready file present.
    var isReady: Bool { process.isRunning && FileManager.default.fileExists(atPath: readyFile.path) }

    /// How it ended, for the creation log: `exit status N` or `signal N`.
    var ending: String {
        guard !process.isRunning else { return "running" }
        return process.terminationReason == .uncaughtSignal
            ? "signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
    }

    /// Asks the worker to drain and stop (SIGTERM): it finishes its in-flight tasks, gives
    /// queued ones back, and exits.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }

    /// Waits until the worker has exited, killing it (SIGKILL) after `deadline`.
    func waitForExit(deadline: Duration = .seconds(45)) async {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while process.isRunning {
            if clock.now > end { kill(process.processIdentifier, SIGKILL) }
            await pause(milliseconds: 20)
        }
    }

    /// The last `lines` lines of the worker's log.
    func logTail(lines: Int = 20) async -> String {
        // A worker that ended may have left its last lines (why it ended) in the pipe; a child of
        // its own may hold the pipe open, so the wait is bounded.
        if !process.isRunning {
            let deadline = ContinuousClock.now + .seconds(2)
            while !relayed.isSet, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        }
        return log.tail(lines: lines)
    }
}
