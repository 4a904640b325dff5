import ArgumentParser
import Foundation
import WorkerCore

/// `launch-worker run`: load a bundle, answer one request, print the response.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Load a bundle, run one request, and print the response JSON.",
        discussion: """
            Prints Launch's response on stdout: {"status": "SUCCESS", "result": "<JSON text>"}, \
            {"status": "SUCCESS", "result_url": "file://..."} with --return-pickled, or \
            {"status": "FAILURE", "traceback": "..."}. Loading is timed and logged on stderr, where \
            the bundle's own prints go too.

            Exit status: 0 on SUCCESS, 1 on FAILURE, 2 on a usage, request or bundle error, 3 when \
            the bundle ended the process (a crash or os._exit, during load or predict: the error \
            says which).

            Examples:
              launch-worker run sample-bundles/dist/arithmetic --args '{"x": 2, "y": 3}'
              launch-worker run my-bundle --args @request-args.json --return-pickled
              launch-worker run my-bundle --url file:///data/image.png
              launch-worker run my-bundle --url 'https://bucket.s3.amazonaws.com/image.png?X-Amz-Signature=...'
              launch-worker run sample-bundles/dist/greeter --request @sample-bundles/greeter/example-request.json
            """
    )

    @Argument(help: BundleSession.argumentHelp)
    var bundle: String?

    @OptionGroup var requestOptions: RequestOptions

    @OptionGroup(title: "URL inputs") var download: URLDownloadOptions

    @Option(
        help: ArgumentHelp(
            "Where pickled results are written (default: $XDG_CACHE_HOME or ~/.cache, then launch-worker/results).",
            valueName: "DIR"))
    var resultsDir: String?

    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        guard let channel = try RunChannel.inherited() else { return try await RunSupervisor.relay() }
        defer { channel.send(.done) }
        try await answer(over: channel)
    }

    /// The child's work (see ``RunSupervisor``): load, run the request, send the response.
    private func answer(over channel: RunChannel) async throws {
        let logger = runtime.makeLogger()
        let request: PredictRequest
        do {
            request = try PredictRequest(json: try requestOptions.body())
        } catch let error as RequestError {
            throw CLIError(message: error.description)
        }
        channel.send(.phase(.load))
        let session = try await BundleSession.open(bundle, runtime: runtime, logger: logger)
        defer { session.close() }
        let slot = try await session.makeSlots(count: 1)[0]
        let executor = RequestExecutor(
            results: DirectoryResultStore(folder: resultsDir.map { URL(filePath: $0) } ?? ResultsFolder.default),
            logger: logger)
        let response: TaskResponse
        channel.send(.phase(.predict))
        do {
            // The request is the user's own, so its input may be any local file.
            response = try await executor.execute(
                request, taskID: UUID().uuidString.lowercased(), on: slot, inputs: download.localProducers
            ).response
        } catch let error as DurableWriteError {
            response = .failure(traceback: "the pickled result could not be stored: \(error)")
        }
        channel.send(.response(response.jsonData()))
        if response.status != .success { throw ExitCode.failure }
    }
}
