import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts another process of this executable: a pool's worker process, a batch's worker process.
enum SelfSpawn {
    /// Spawns `arguments` (program name first) with `environment` as its whole environment,
    /// each `descriptors` pair's first descriptor (this process's) as its second (the child's),
    /// and `defaultSignals` back at their defaults: this process ignores or handles them, and a
    /// child would otherwise inherit the ignoring. Returns the child's pid, or `posix_spawn`'s
    /// error number.
    static func start(
        arguments: [String], environment: [String: String], descriptors: [(Int32, Int32)], defaultSignals: [Int32]
    ) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (ours, theirs) in descriptors { posix_spawn_file_actions_adddup2(&actions, ours, theirs) }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in defaultSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, CommandLine.executablePath, &actions, &attributes, argv, envp)
        return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
    }

    /// Why `posix_spawn` failed.
    struct SpawnError: Error, CustomStringConvertible {
        let code: Int32

        var description: String { "\(CommandLine.executablePath): \(String(cString: strerror(code)))" }
    }
}
