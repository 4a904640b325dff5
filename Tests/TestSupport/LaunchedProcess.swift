import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process left running while the test works: signal it, then await its exit.
///
/// The child leads a process group of its own, which is killed (SIGKILL) once the test lets go
/// of it, whichever way the test ends: a test that fails or throws before it stops its process
/// (a pool's supervisor and its worker processes included) leaves nothing running.
public final class LaunchedProcess: Sendable {
    private let child: ChildProcess
    /// The file its stderr goes to.
    public let stderrFile: URL

    /// Starts `executable`; stdout is discarded, stderr kept in ``stderrFile``; `files` as
    /// ``ChildProcess`` opens them.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, files: [Int32: URL] = [:]
    ) throws {
        stderrFile = try Checkout.temporaryFolder("stderr").appending(path: "stderr")
        child = try ChildProcess(
            executable, arguments, environment: environment, stdout: URL(filePath: "/dev/null"), stderr: stderrFile,
            ownProcessGroup: true, files: files)
    }

    deinit {
        killGroup()
    }

    /// Kills the process and every process of its group (a pool's worker processes, a bundle's
    /// children); nothing when they have all ended.
    public func killGroup() {
        kill(-child.pid, SIGKILL)
    }

    /// The process's id.
    public var pid: pid_t { child.pid }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) {
        child.send(signal)
    }

    /// Waits for the process to end and returns its exit status (or signal number when killed).
    public func exitStatus() async -> Int32 {
        await child.exitStatus()
    }

    /// Waits for the process to end, as ``exitStatus()`` does, but fails once `timeout` passed (a
    /// generous bound for a promise such as "a signal ends it within its drain timeout"); the
    /// process is then killed, so that nothing outlives the test.
    public func exitStatus(within timeout: Duration) async throws -> Int32 {
        try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { await self.exitStatus() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let status = first else {
                killGroup()
                throw FixtureError("the process did not end within \(timeout)")
            }
            return status
        }
    }

    /// What it wrote to stderr so far.
    public func stderr() -> String {
        (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    }
}

/// Waits until `condition` holds, checking every 20 ms, or fails after `timeout` (generous:
/// this is for waiting on another process, never for measuring time).
public func eventually(
    timeout: Duration = .seconds(60), _ what: String, _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while try await !condition() {
        guard clock.now < deadline else { throw FixtureError("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
