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

/// Runs a program to its end and collects its output, without blocking a cooperative thread.
///
/// Output goes to temporary files rather than pipes, so a chatty child never blocks on a full pipe.
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil
) async throws -> ProcessOutcome {
    let folder = try Checkout.temporaryFolder("process")
    defer { try? FileManager.default.removeItem(at: folder) }
    let stdoutFile = folder.appending(path: "stdout")
    let stderrFile = folder.appending(path: "stderr")
    _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
    process.standardError = try FileHandle(forWritingTo: stderrFile)
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    return ProcessOutcome(
        status: status,
        stdout: try String(contentsOf: stdoutFile, encoding: .utf8),
        stderr: try String(contentsOf: stderrFile, encoding: .utf8))
}
