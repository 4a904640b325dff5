import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One running worker process of a pool: `launch-worker serve` again, with the supervisor's
/// arguments less the pool's options (``WorkerArguments``), marked as a pool member by
/// ``PoolMember`` variables, its stderr relayed through a ``StderrTail``.
///
/// Started and reaped only on the supervisor's own thread: a worker asks to be killed when the
/// thread that started it ends (``PoolMember/join()``), so that thread must outlive it.
final class WorkerProcess {
    /// Its place in the pool (0..<P), the same across its restarts.
    let index: Int
    let pid: pid_t
    /// The ready file the worker keeps while it is ready.
    let readyFile: String
    /// What it wrote to stderr last.
    let stderr: StderrTail

    private init(index: Int, pid: pid_t, readyFile: String, stderr: StderrTail) {
        self.index = index
        self.pid = pid
        self.readyFile = readyFile
        self.stderr = stderr
    }

    /// Starts worker `index` with `arguments` (program name first), `environment` added to the
    /// supervisor's own, and `listener` (if any) as its ``SharedListener/workerDescriptor``.
    static func start(
        index: Int, arguments: [String], environment: [String: String], listener: Int32?, readyFile: String
    ) throws(CLIError) -> WorkerProcess {
        var ends: [Int32] = [0, 0]
        guard pipe2(&ends, O_CLOEXEC) == 0 else {
            throw CLIError(
                message: "cannot make a pipe for worker process \(index): \(String(cString: strerror(errno)))")
        }
        var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        variables[PoolMember.indexVariable] = String(index)
        variables[PoolMember.supervisorVariable] = String(getpid())
        if listener != nil { variables[PoolMember.listenerVariable] = String(SharedListener.workerDescriptor) }
        // The supervisor ignores the signals it handles; the worker starts with them as usual,
        // but for SIGHUP, which is the supervisor's alone (a terminal's hangup is no reason for
        // a worker process to die).
        let started = SelfSpawn.start(
            arguments: WorkerArguments.make(from: arguments, readyFile: readyFile), environment: variables,
            descriptors: [(ends[1], STDERR_FILENO)] + (listener.map { [($0, SharedListener.workerDescriptor)] } ?? []),
            defaultSignals: [SIGTERM, SIGINT, SIGUSR1])
        close(ends[1])
        let pid: pid_t
        switch started {
        case .success(let child):
            pid = child
        case .failure(let error):
            close(ends[0])
            throw CLIError(message: "cannot start worker process \(index) (\(error))")
        }
        return WorkerProcess(index: index, pid: pid, readyFile: readyFile, stderr: StderrTail(reading: ends[0]))
    }

    /// How it ended, once it has (reaping it); nil while it runs.
    func exited() -> ChildExit? {
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, WNOHANG) } while reaped < 0 && errno == EINTR
        guard reaped == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Whether it says it is ready (its ready file exists).
    var isReady: Bool { access(readyFile, F_OK) == 0 }

    /// The file it makes to ask to be recycled (``PoolMember/watchTaskCount(_:logger:)``).
    var recycleFile: String { readyFile + ".recycle" }

    /// Whether it asked to be recycled.
    var wantsRecycling: Bool { access(recycleFile, F_OK) == 0 }

    /// Its resident memory (`/proc/PID/statm`), nil once it cannot be read.
    var residentBytes: UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Sends `signal` to it.
    func send(_ signal: Int32) {
        kill(pid, signal)
    }
}
