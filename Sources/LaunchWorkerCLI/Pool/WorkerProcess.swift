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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDERR_FILENO)
        if let listener { posix_spawn_file_actions_adddup2(&actions, listener, SharedListener.workerDescriptor) }
        var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        variables[PoolMember.indexVariable] = String(index)
        variables[PoolMember.supervisorVariable] = String(getpid())
        if listener != nil { variables[PoolMember.listenerVariable] = String(SharedListener.workerDescriptor) }
        let argv = WorkerArguments.make(from: arguments, readyFile: readyFile).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The supervisor ignores the signals it handles; the worker starts with them as usual,
        // but for SIGHUP, which is the supervisor's alone (a terminal's hangup is no reason for
        // a worker process to die).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGUSR1] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, CommandLine.executablePath, &actions, &attributes, argv, envp)
        close(ends[1])
        guard result == 0 else {
            close(ends[0])
            throw CLIError(
                message:
                    "cannot start worker process \(index) (\(CommandLine.executablePath)): \(String(cString: strerror(result)))"
            )
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
