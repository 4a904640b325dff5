import Foundation
import TestSupport
import Testing

@testable import BundleArchive

/// Runs the built `launch-worker` with `arguments`, adding `environment` to this process's own
/// (less llm-engine's container variables and any proxy: downloads go straight to the test's
/// servers unless a test names a proxy).
func worker(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutcome {
    var merged = ProcessInfo.processInfo.environment
    for name in [
        "BUNDLE_URL", "BASE_PATH", "LOAD_PREDICT_FN_MODULE_PATH", "LOAD_MODEL_FN_MODULE_PATH", "USER_CONFIG_LOCATION",
        "REQUIREMENTS_PATH", "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
        "NO_PROXY",
    ] {
        merged[name] = nil
    }
    merged.merge(environment) { $1 }
    return try await runProcess(Checkout.executable, arguments, environment: merged)
}

/// The one JSON object `run` printed on stdout.
func response(_ outcome: ProcessOutcome) throws -> [String: String] {
    let object = try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
    return try #require(object as? [String: String], "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
}

/// A valid `bundle.json` for archives built by hand.
let plainMetadata = Array(#"{"packaging_type": "cloudpickle", "bundle_name": "hostile", "env_params": {}}"#.utf8)

/// The `SHA256SUMS` text for these contents.
func sums(metadata: [UInt8] = plainMetadata, artifact: [UInt8]) -> [UInt8] {
    Array(
        BundleChecksums([
            "bundle.json": sha256Hex(metadata), "artifact": sha256Hex(artifact),
        ]).text.utf8)
}

/// The hex SHA-256 of `bytes`.
func sha256Hex(_ bytes: [UInt8]) -> String {
    Data(bytes).sha256Hex
}

/// Writes a `.bundle` whose tar entries are exactly `entries`, hostile ones included.
func writeArchive(_ entries: [(TarEntry, [UInt8])], to file: URL) throws {
    let output = try FileStream.creating(file.path, bundle: file.path)
    let compressor = ZstdCompressor(into: output, bundle: file.path)
    let tar = TarWriter(into: compressor)
    for (entry, data) in entries {
        try tar.append(entry) { sink in try data.withUnsafeBytes { try sink.write($0) } }
    }
    try tar.finish()
    try compressor.finish()
}

/// A plain file entry and its data.
func file(_ name: String, _ data: [UInt8]) -> (TarEntry, [UInt8]) {
    (TarEntry(name: name, kind: .file, size: UInt64(data.count)), data)
}

/// The names in `folder`, sorted (hidden ones included).
func names(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

/// The sample bundles of sample-bundles/, built once per test process into a temporary folder.
enum SampleBundles {
    private static let built = Task<URL, any Error> {
        let folder = try Checkout.temporaryFolder("samples")
        let outcome = try await runProcess(
            Checkout.python, [Checkout.root.appending(path: "sample-bundles/build.py").path, "--out", folder.path])
        guard outcome.status == 0 else { throw FixtureError("sample-bundles/build.py failed: \(outcome.stderr)") }
        return folder
    }

    /// The samples' names.
    static let names = ["arithmetic", "greeter", "linear-model", "text-stats"]

    /// The built folder of sample `name`.
    static func folder(_ name: String) async throws -> URL {
        try await built.value.appending(path: name)
    }
}

/// A static-file HTTP server on 127.0.0.1 (Python's http.server), for download tests.
final class LocalHTTPServer: Sendable {
    private let process: LaunchedProcess
    /// Its base URL.
    let base: URL

    /// Serves `folder` on a free port.
    init(serving folder: URL) async throws {
        let portFile = try Checkout.temporaryFolder("http").appending(path: "port")
        let script = """
            import functools, http.server, os, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            with open(sys.argv[2] + ".tmp", "w") as f:
                f.write(str(server.server_address[1]))
            os.rename(sys.argv[2] + ".tmp", sys.argv[2])
            server.serve_forever()
            """
        process = try LaunchedProcess(Checkout.python, ["-c", script, folder.path, portFile.path])
        try await eventually("the HTTP server is listening") { FileManager.default.fileExists(atPath: portFile.path) }
        let port = try String(contentsOf: portFile, encoding: .utf8)
        base = URL(string: "http://127.0.0.1:\(port)/")!
    }

    /// Stops the server (SIGKILL: a child of the test runner may have SIGTERM ignored).
    func stop() async {
        process.send(SIGKILL)
        _ = await process.exitStatus()
    }
}

/// An HTTP proxy on 127.0.0.1 that only tunnels (Tests/Fixtures/connect_proxy.py): it connects
/// every tunnel to 127.0.0.1, whatever host was asked for, and logs what it was asked.
final class ConnectProxy: Sendable {
    private let process: LaunchedProcess
    private let log: URL
    /// `127.0.0.1:PORT`.
    let address: String

    /// Starts a proxy on a free port.
    init() async throws {
        let state = try Checkout.temporaryFolder("proxy")
        let portFile = state.appending(path: "port")
        log = state.appending(path: "connects.log")
        process = try LaunchedProcess(
            Checkout.python,
            [Checkout.root.appending(path: "Tests/Fixtures/connect_proxy.py").path, portFile.path, log.path])
        try await eventually("the proxy is listening") { FileManager.default.fileExists(atPath: portFile.path) }
        address = "127.0.0.1:" + (try String(contentsOf: portFile, encoding: .utf8))
    }

    /// Each request so far: `CONNECT HOST:PORT` and its `Proxy-Authorization` (`-` for none).
    var requests: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Stops the proxy.
    func stop() async {
        process.send(SIGKILL)
        _ = await process.exitStatus()
    }
}
