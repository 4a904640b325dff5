import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid` on a thread of its own.
///
/// Foundation's `Process` learns of a child's exit from a SIGCHLD handler, and under the load
/// of many tests starting children at once that notice can be lost, leaving a test waiting
/// forever; `waitpid` on the child's own pid cannot miss it.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    private let exited: Task<Int32, Never>

    /// Starts `executable` with `arguments` and `environment` (this process's when nil),
    /// stdin from `stdin` (/dev/null when nil), stdout and stderr appended to the given files;
    /// with `ownProcessGroup`, as the leader of a process group of its own (its id is the
    /// child's pid), so that the child and every process it starts can be killed at once;
    /// `files` opens more descriptors in the child: each number, on its file, read-only when
    /// it exists already, else created for writing.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, stdin: URL? = nil,
        stdout: URL, stderr: URL, ownProcessGroup: Bool = false, files: [Int32: URL] = [:]
    ) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownProcessGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        for (descriptor, file) in files {
            let flags = FileManager.default.fileExists(atPath: file.path) ? O_RDONLY : O_WRONLY | O_CREAT
            posix_spawn_file_actions_addopen(&actions, descriptor, file.path, flags, 0o644)
        }
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        let envp = variables + [nil]
        defer {
            argv.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable.path, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw FixtureError("cannot start \(executable.path): \(String(cString: strerror(result)))")
        }
        pid = child
        let spawned = child
        exited = Task {
            await withCheckedContinuation { continuation in
                Thread {
                    var status: Int32 = 0
                    while waitpid(spawned, &status, 0) < 0, errno == EINTR {}
                    // Exit status when it exited; the signal number when a signal ended it.
                    let signal = status & 0x7f
                    continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : signal)
                }.start()
            }
        }
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the child to end: its exit status, or the signal that ended it.
    public func exitStatus() async -> Int32 {
        await exited.value
    }
}
