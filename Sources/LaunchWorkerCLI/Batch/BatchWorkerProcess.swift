import BatchJobs
import CLinux
import Foundation
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// One worker process of `batch --processes`: the same `launch-worker batch` command line with
/// ``BatchWorkerLoop/indexOption`` added, which loads the bundle and answers the chunks this
/// side sends it on its descriptor 3, on its descriptor 4.
///
/// Its pipes are the only link: when this process ends, even killed with SIGKILL, the worker
/// reads the end of its pipe and exits, so a killed batch leaves no worker behind. A reader
/// thread hands each answer to the chunk waiting for it.
final class BatchWorkerProcess: Sendable {
    /// Its place among the batch's processes.
    let index: Int
    let pid: pid_t
    private let requests: Int32
    /// Held while a frame is written: a frame larger than the pipe holds is written in parts,
    /// and two lanes' parts must not interleave.
    private let writing = Mutex(())
    private let state = Mutex<State>(State())
    private let ready = AsyncStream<Bool>.makeStream()

    private struct State {
        var nextID: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<Result<[TaskResponse], BatchStop>, Never>] = [:]
        /// Why it can answer no more, once its pipe ended.
        var ended: String?
    }

    /// How many chunks it holds now.
    var inFlight: Int { state.withLock { $0.waiting.count } }

    private init(index: Int, pid: pid_t, requests: Int32) {
        self.index = index
        self.pid = pid
        self.requests = requests
    }

    /// Starts worker `index` with `arguments` (the batch's own, program name first).
    static func start(index: Int, arguments: [String]) throws(CLIError) -> BatchWorkerProcess {
        var down: [Int32] = [0, 0]
        var up: [Int32] = [0, 0]
        guard pipe2(&down, O_CLOEXEC) == 0 else { throw pipeError(index) }
        guard pipe2(&up, O_CLOEXEC) == 0 else {
            close(down[0])
            close(down[1])
            throw pipeError(index)
        }
        // The worker starts with the signals this process ignores or handles set back to default.
        let started = SelfSpawn.start(
            arguments: arguments + [BatchWorkerLoop.indexOption, String(index)],
            environment: ProcessInfo.processInfo.environment,
            descriptors: [(down[0], BatchWorkerLoop.requestDescriptor), (up[1], BatchWorkerLoop.responseDescriptor)],
            defaultSignals: [SIGTERM, SIGINT, SIGPIPE])
        close(down[0])
        close(up[1])
        let pid: pid_t
        switch started {
        case .success(let child):
            pid = child
        case .failure(let error):
            close(down[1])
            close(up[0])
            throw CLIError(message: "cannot start batch worker process \(index) (\(error))")
        }
        let process = BatchWorkerProcess(index: index, pid: pid, requests: down[1])
        let responses = up[0]
        let thread = Thread {
            clinux_name_this_thread("batch-worker-\(index)")
            process.readAnswers(responses)
        }
        thread.start()
        return process
    }

    private static func pipeError(_ index: Int) -> CLIError {
        CLIError(message: "cannot make a pipe for batch worker process \(index): \(String(cString: strerror(errno)))")
    }

    /// Waits until it has loaded the bundle; false when it ended first.
    func waitUntilReady() async -> Bool {
        for await loaded in ready.stream { return loaded }
        return false
    }

    /// Its answers to `requests`.
    func answer(_ requests: [BatchRequest]) async -> Result<[TaskResponse], BatchStop> {
        await withCheckedContinuation { continuation in
            let (id, ended) = state.withLock { state -> (UInt64, String?) in
                if let ended = state.ended { return (0, ended) }
                state.nextID += 1
                state.waiting[state.nextID] = continuation
                return (state.nextID, nil)
            }
            if let ended {
                continuation.resume(returning: .failure(.worker(ended)))
                return
            }
            // A broken pipe is reported by the reader, which then answers every chunk waiting.
            let frame = ChunkFrames.requests(requests, id: id)
            _ = writing.withLock { _ in FramePipe.write(frame, to: self.requests) }
        }
    }

    /// Reads answers until the pipe ends, then fails whatever still waits.
    private func readAnswers(_ fd: Int32) {
        while let payload = FramePipe.read(fd), let (id, result) = ChunkFrames.decodeResponses(payload) {
            if id == ChunkFrames.readyID {
                ready.continuation.yield(true)
                continue
            }
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(returning: result)
        }
        close(fd)
        close(requests)
        let message =
            "batch worker process \(index) (pid \(pid)) \(exitDescription()) (its error, if any, is above): "
            + "rerun the same command to resume"
        ready.continuation.yield(false)
        ready.continuation.finish()
        let waiting = state.withLock { state in
            state.ended = message
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(returning: .failure(.worker(message))) }
    }

    /// How it ended, waiting for it: its pipe has ended, so it has or is about to.
    private func exitDescription() -> String {
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
        guard reaped == pid else { return "stopped answering" }
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(signal)"
    }
}
