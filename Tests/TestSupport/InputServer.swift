import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A server of url inputs on 127.0.0.1 (Tests/Fixtures/input_server.py, on the venv's Python):
/// files from a folder, redirects and redirect chains, a body with no announced size, and servers
/// that stall. It reaches nothing but loopback, and exits with the test process.
public final class InputServer: Sendable {
    private let process: LaunchedProcess
    private let log: URL
    /// The folder whose files it serves under `/files/`.
    public let folder: URL
    /// `http://127.0.0.1:PORT`.
    public let base: String

    /// Starts a server on a free port.
    public init() async throws {
        let state = try Checkout.temporaryFolder("input-server")
        folder = state.appending(path: "files")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let portFile = state.appending(path: "port")
        log = state.appending(path: "requests.log")
        process = try LaunchedProcess(
            Checkout.python,
            [
                Checkout.root.appending(path: "Tests/Fixtures/input_server.py").path, folder.path, portFile.path,
                log.path,
            ])
        try await eventually("the input server listens") { FileManager.default.fileExists(atPath: portFile.path) }
        base = "http://127.0.0.1:" + (try String(contentsOf: portFile, encoding: .utf8))
    }

    /// Serves `bytes` as `/files/NAME` and returns its URL.
    public func serve(_ bytes: [UInt8], as name: String) throws -> String {
        try Data(bytes).write(to: folder.appending(path: name))
        return url("/files/\(name)")
    }

    /// The URL of `path` on this server.
    public func url(_ path: String) -> String {
        base + path
    }

    /// The paths requested so far, in order.
    public var requests: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Stops the server.
    public func stop() async {
        process.send(SIGKILL)
        _ = await process.exitStatus()
    }
}
