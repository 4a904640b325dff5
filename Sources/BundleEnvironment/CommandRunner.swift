import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to its end, handing each line it prints (stdout and stderr together, in the
/// order written) to `line`, and returns its exit status, or 128 + the signal that ended it.
///
/// `posix_spawn` and `waitpid` rather than Foundation's `Process`, whose SIGCHLD handling can
/// miss an exit under load; stdin is /dev/null, so an installer never waits for an answer.
///
/// - Important: Blocks until the program ends: call it off Swift's cooperative pool.
///
/// - Throws: ``EnvironmentError`` about `bundle` when the program cannot be started.
func runCommand(
    _ arguments: [String], environment: [String: String], bundle: String, line: (String) -> Void
) throws(EnvironmentError) -> Int32 {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw spawnFailure(arguments, errno, bundle) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
    let argv = arguments.map { strdup($0) } + [nil]
    let variables = environment.map { strdup("\($0.key)=\($0.value)") }
    let envp = variables + [nil]
    defer {
        argv.forEach { free($0) }
        variables.forEach { free($0) }
    }
    var child: pid_t = 0
    let result = posix_spawn(&child, arguments[0], &actions, nil, argv, envp)
    close(fds[1])
    defer { close(fds[0]) }
    guard result == 0 else { throw spawnFailure(arguments, result, bundle) }
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { break }
        for byte in buffer[..<count] {
            // Progress bars end their lines with \r.
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
    }
    if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0, errno == EINTR {}
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

private func spawnFailure(_ arguments: [String], _ code: Int32, _ bundle: String) -> EnvironmentError {
    EnvironmentError(
        .toolMissing, bundle: bundle,
        reason: "cannot run \(arguments.joined(separator: " ")): \(String(cString: strerror(code)))")
}
