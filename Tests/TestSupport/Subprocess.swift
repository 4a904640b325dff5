import Foundation

/// What a finished child process printed and how it exited.
public struct ProcessOutcome: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: String
    /// Everything written to stderr.
    public var stderr: String
}

/// Runs a program to its end and collects its output, without blocking a cooperative thread;
/// its stdin reads the file `stdin` (/dev/null when nil).
///
/// Output goes to temporary files rather than pipes, so a chatty child never blocks on a full pipe.
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, stdin: URL? = nil
) async throws -> ProcessOutcome {
    let folder = try Checkout.temporaryFolder("process")
    defer { try? FileManager.default.removeItem(at: folder) }
    let stdoutFile = folder.appending(path: "stdout")
    let stderrFile = folder.appending(path: "stderr")
    let child = try ChildProcess(
        executable, arguments, environment: environment, stdin: stdin, stdout: stdoutFile, stderr: stderrFile)
    let status = await child.exitStatus()
    return ProcessOutcome(
        status: status,
        stdout: (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "")
}
