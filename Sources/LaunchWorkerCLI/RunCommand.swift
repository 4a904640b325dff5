import ArgumentParser
import Foundation
import LaunchBundle
import PythonBridge
import WorkerCore

/// `launch-worker run`: load a bundle, answer one request, print the response.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Load a bundle, run one request, and print the response JSON.",
        discussion: """
            Prints Launch's response on stdout: {"status": "SUCCESS", "result": "<JSON text>"}, \
            {"status": "SUCCESS", "result_url": "file://..."} with --return-pickled, or \
            {"status": "FAILURE", "traceback": "..."}. Loading is timed and logged on stderr.

            Examples:
              launch-worker run sample-bundles/dist/arithmetic --args '{"x": 2, "y": 3}'
              launch-worker run my-bundle --args @request-args.json --return-pickled
              launch-worker run my-bundle --url file:///data/image.png
              launch-worker run sample-bundles/dist/greeter --request @sample-bundles/greeter/example-request.json
            """
    )

    @Argument(help: "The bundle folder, holding bundle.json and artifact.")
    var bundle: String

    @Option(
        help: ArgumentHelp(
            "predict's keyword arguments as a JSON object, or @FILE to read them from a file.", valueName: "JSON"))
    var args: String?

    @Option(help: "A local path or file:// URL whose bytes are passed to predict as its one argument.")
    var url: String?

    @Option(
        help: ArgumentHelp(
            "A whole Launch request body ({\"args\": ...}, {\"url\": ...} or {\"cloudpickle\": ...}), or @FILE.",
            valueName: "JSON"))
    var request: String?

    @Flag(help: "Store cloudpickle.dumps(output) as a file and answer with its file:// URL.")
    var returnPickled = false

    @Option(
        help: ArgumentHelp(
            "Where pickled results are written (default: $XDG_CACHE_HOME or ~/.cache, then launch-worker/results).",
            valueName: "DIR"))
    var resultsDir: String?

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard [args, url, request].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --args, --url and --request")
        }
    }

    func run() async throws {
        let logger = runtime.makeLogger()
        let request = try makeRequest()
        let bundleDirectory: BundleDirectory
        do {
            bundleDirectory = try BundleDirectory(path: bundle)
        } catch {
            throw CLIError(message: error.description)
        }
        let interpreter = try await runtime.startInterpreter()
        let codeFolder = try makeCodeFolder(for: bundleDirectory)
        defer { codeFolder.map { try? FileManager.default.removeItem(at: $0) } }

        let loaded: LoadedBundle
        do {
            loaded = try await LoadedBundle.load(bundleDirectory, codeFolder: codeFolder, interpreter: interpreter)
        } catch {
            throw CLIError(message: error.description)
        }
        logger.info(
            "bundle loaded",
            metadata: [
                "bundle": "\(bundleDirectory.metadata.bundleName)",
                "packaging_type": "\(bundleDirectory.metadata.packagingType.rawValue)",
                "load_ms": "\(loaded.loadDuration.milliseconds)",
            ])

        let thread = try await interpreter.makeThread(name: "python-request")
        let executor = TaskExecutor(
            bundle: loaded, results: DirectoryResultStore(folder: resultsFolder()), logger: logger)
        let response: TaskResponse
        do {
            response = try await executor.execute(request, taskID: UUID().uuidString.lowercased(), on: thread)
        } catch let error as DurableWriteError {
            response = .failure(traceback: "the pickled result could not be stored: \(error)")
        }
        FileHandle.standardOutput.write(response.jsonData() + Data("\n".utf8))
        if response.status != .success { throw ExitCode.failure }
    }

    private func makeRequest() throws(CLIError) -> PredictRequest {
        if let url {
            return PredictRequest(input: .url(url), returnPickled: returnPickled)
        }
        if let request {
            let body = try Self.jsonText(request, option: "--request")
            do {
                var decoded = try PredictRequest(json: Array(body.utf8))
                decoded.returnPickled = decoded.returnPickled || returnPickled
                return decoded
            } catch {
                throw CLIError(message: "--request: \(error.reason)")
            }
        }
        let text = try Self.jsonText(args ?? "", option: "--args")
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil else {
            throw CLIError(message: "--args is not valid JSON: \(text.prefix(200))")
        }
        do {
            var decoded = try PredictRequest(json: Array("{\"args\": \(text)}".utf8))
            decoded.returnPickled = returnPickled
            return decoded
        } catch {
            throw CLIError(message: "--args: \(error.reason)")
        }
    }

    /// The option's value, or the contents of the file it names as `@FILE`.
    private static func jsonText(_ value: String, option: String) throws(CLIError) -> String {
        guard value.hasPrefix("@") else { return value }
        let file = String(value.dropFirst())
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw CLIError(message: "\(option) @\(file): cannot read \(file)")
        }
        return String(decoding: contents, as: UTF8.self)
    }

    /// A fresh folder for a zip bundle's code, removed when the command ends.
    private func makeCodeFolder(for bundle: BundleDirectory) throws(CLIError) -> URL? {
        guard bundle.metadata.packagingType == .zip else { return nil }
        let folder = FileManager.default.temporaryDirectory.appending(path: "launch-worker-code-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError(message: "cannot create a folder for the bundle's code in \(folder.path): \(error)")
        }
        return folder
    }

    private func resultsFolder() -> URL {
        if let resultsDir { return URL(filePath: resultsDir, directoryHint: .isDirectory) }
        let environment = ProcessInfo.processInfo.environment
        let cache =
            environment["XDG_CACHE_HOME"].map { URL(filePath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appending(path: ".cache")
        return cache.appending(path: "launch-worker/results")
    }
}
