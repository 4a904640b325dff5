import ArgumentParser
import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `run` in two processes, so that a bundle that ends the process is reported, and only the
/// response reaches stdout.
///
/// The command the user runs starts the same command line again as a child, marked by
/// ``RunChannel/parentVariable``. The child does the work, with its stdout on this process's
/// stderr (so the bundle's prints, Python's and C's alike, land there) and a pipe on
/// descriptor 3, on which it sends its phase, the response and `done` (``RunRecord``). The
/// parent prints the response and exits with the child's status; a child that ends without
/// `done` (a signal, `os._exit`) was ended by the bundle, and the parent says so, exit 3.
enum RunSupervisor {
    /// The exit status of a `run` whose bundle ended the process.
    static let bundleEndedStatus: Int32 = 3

    /// Runs this command line in a child and relays its response and exit status.
    ///
    /// - Throws: ``CLIError`` when the child cannot start or the bundle ended it (exit 3),
    ///   `ExitCode` with the child's status when it is not 0.
    static func relay() async throws {
        let (exit, records) = try await supervise(arguments: CommandLine.arguments)
        var phase: RunPhase?
        var finished = false
        for record in records {
            switch record {
            case .phase(let entered): phase = entered
            case .response(let json): FileHandle.standardOutput.write(json + Data("\n".utf8))
            case .done: finished = true
            case .reaped: break
            }
        }
        switch exit {
        case .exited(let status) where finished:
            if status != 0 { throw ExitCode(status) }
        default:
            throw CLIError(message: ended(exit, during: phase), status: bundleEndedStatus)
        }
    }

    /// How the child ended, in the words of the error.
    private static func ended(_ exit: ChildExit, during phase: RunPhase?) -> String {
        guard let phase else { return "the run's child process ended (\(exit)) before it loaded the bundle" }
        return "the bundle ended the process (\(exit)) during \(phase.rawValue)"
    }

    /// Starts the child and collects what it sends until it has exited.
    private static func supervise(arguments: [String]) async throws(CLIError) -> (ChildExit, [RunRecord]) {
        var ends: [Int32] = [0, 0]
        guard pipe2(&ends, O_CLOEXEC) == 0 else {
            throw CLIError(message: "cannot make a pipe for run's child process: \(String(cString: strerror(errno)))")
        }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer {
            close(readEnd)
            close(writeEnd)
        }
        async let records = onThread { readRecords(from: readEnd) }
        // The spawning thread also waits: the child is killed when the thread that started it
        // ends (RunChannel asks for that), so it must be one that outlives the child.
        let exit = await onThread { () -> Result<ChildExit, CLIError> in
            let exit = Result { () throws(CLIError) in try spawnAndWait(arguments: arguments, channel: writeEnd) }
            // Everything the child wrote is in the pipe by now; this marks where it ends.
            RunChannel.write(RunRecord.reaped.bytes, to: writeEnd)
            return exit
        }
        let received = await records
        switch (exit, received) {
        case (.failure(let error), _): throw error
        case (_, .failure(let error)): throw CLIError(message: error.description, status: 1)
        case (.success(let exit), .success(let records)): return (exit, records)
        }
    }

    /// Starts the child with the pipe's write end as descriptor 3 and its stdout on stderr,
    /// and waits for it to end.
    private static func spawnAndWait(arguments: [String], channel: Int32) throws(CLIError) -> ChildExit {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, channel, RunChannel.descriptor)
        var environment = ProcessInfo.processInfo.environment
        environment[RunChannel.parentVariable] = String(getpid())
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let executable = CommandLine.executablePath
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw CLIError(
                message: "cannot start run's child process \(executable): \(String(cString: strerror(result)))")
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0, errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Reads records until the parent's `reaped` (or the end of the pipe).
    private static func readRecords(from descriptor: Int32) -> Result<[RunRecord], RunRecordError> {
        var buffer = Data()
        var records: [RunRecord] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while records.last != .reaped {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            buffer.append(contentsOf: chunk[0..<count])
            do {
                records += try RunRecord.take(from: &buffer)
            } catch {
                // Keep reading, so the child is never stuck on a full pipe, up to the parent's
                // own record, which comes last.
                while !buffer.suffix(RunRecord.reaped.bytes.count).elementsEqual(RunRecord.reaped.bytes) {
                    let count = read(descriptor, &chunk, chunk.count)
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    buffer = buffer.suffix(64) + chunk[0..<count]
                }
                return .failure(error)
            }
        }
        return .success(records)
    }

    /// Runs blocking `work` on a thread of its own, never on Swift's cooperative pool.
    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread {
                clinux_name_this_thread("run-supervise")
                continuation.resume(returning: work())
            }.start()
        }
    }
}

/// How a child process ended.
enum ChildExit: Equatable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// This signal killed it.
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signaled(let signal): "signal \(signal)" + (SignalName.of(signal).map { ", \($0)" } ?? "")
        }
    }
}
