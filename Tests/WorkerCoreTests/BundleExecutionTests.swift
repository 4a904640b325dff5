import Foundation
import InputDownload
import LaunchBundle
import Logging
import PythonBridge
import TestSupport
import Testing
import WorkerCore

/// Loads a fixture bundle and runs requests through the real executor on a real Python slot.
struct Harness {
    let executor: RequestExecutor
    let slot: PythonSlot
    let results: URL

    init(_ name: String) async throws {
        let interpreter = try await SharedInterpreter.get()
        let bundle = try BundleDirectory(path: try await FixtureBundles.path(name))
        let codeFolder: URL? =
            bundle.metadata.packagingType == .zip ? try Checkout.temporaryFolder("code-\(name)") : nil
        let loaded = try await LoadedBundle.load(bundle, codeFolder: codeFolder, interpreter: interpreter)
        results = try Checkout.temporaryFolder("results-\(name)")
        executor = RequestExecutor(
            results: DirectoryResultStore(folder: results),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        slot = PythonSlot(
            name: "test-\(name)", threads: try await interpreter.makeThreads(name: "test-\(name)"), bundle: loaded,
            interpreter: interpreter)
    }

    /// Runs the request body `body` with its input read as `inputs` allows (any local file, and
    /// downloads from this machine's own test servers, by default).
    func run(
        _ body: String, taskID: String = UUID().uuidString, inputs: InputPolicy = .localTest
    ) async throws -> TaskResponse {
        try await execute(PredictRequest(json: Array(body.utf8)), taskID: taskID, inputs: inputs).response
    }

    /// Runs `request` through the executor.
    func execute(
        _ request: PredictRequest, taskID: String, inputs: InputPolicy = .localTest
    ) async throws -> Execution {
        try await executor.execute(request, taskID: taskID, on: slot, inputs: inputs)
    }

    /// Runs a request and returns its result's JSON text in canonical form (see ``canonical(_:)``).
    func result(_ body: String) async throws -> String {
        let response = try await run(body)
        #expect(response.status == .success, "\(response.traceback ?? "")")
        return try canonical(try #require(response.result))
    }
}

extension InputPolicy {
    /// Any local file, and downloads from loopback (where the tests' servers are).
    static let localTest = InputPolicy.localProducers(download: DownloadRules(allowPrivateAddresses: true))
}

/// JSON text re-encoded with sorted keys and no spaces, so equal values compare equal.
func canonical(_ json: String) throws -> String {
    let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    return String(decoding: data, as: UTF8.self)
}

@Suite("Running every kind of bundle")
struct BundleExecutionTests {
    @Test("a function bundle, pickled by cloudpickle 3 or 2", arguments: ["function", "function-cloudpickle2"])
    func function(name: String) async throws {
        let harness = try await Harness(name)
        let response = try await harness.run(#"{"args": {"x": 2, "y": 3.5}}"#)
        #expect(response == .success(result: #"{"sum": 5.5}"#))
    }

    @Test("a callable instance gets init(config) once, with the app_config")
    func instanceWithConfig() async throws {
        let harness = try await Harness("instance-init")
        _ = try await harness.run(#"{"args": {"name": "Ada"}}"#)
        let result = try await harness.result(#"{"args": {"name": "Grace"}}"#)
        #expect(
            try result == canonical(#"{"greeting": "Hello, Grace", "init_calls": 1, "config": {"greeting": "Hello"}}"#))
    }

    @Test("without app_config, init gets None")
    func instanceWithoutConfig() async throws {
        let result = try await Harness("instance-init-noconfig").result(#"{"args": {"name": "Ada"}}"#)
        #expect(try result == canonical(#"{"greeting": "Hi, Ada", "init_calls": 1, "config": null}"#))
    }

    @Test("a class object is instantiated once")
    func classObject() async throws {
        let harness = try await Harness("class-object")
        _ = try await harness.run(#"{"args": {"name": "a"}}"#)
        let result = try await harness.result(#"{"args": {"name": "b"}}"#)
        #expect(try result == canonical(#"{"instances": 1, "init_calls": 1, "config": {"greeting": "Hey"}}"#))
    }

    @Test(
        "model and load_model_fn dicts, and zip code bundles, with and without app_config",
        arguments: [
            ("model-dict", 140), ("model-dict-noconfig", 14), ("load-model-fn", 140), ("load-model-fn-noconfig", 14),
            ("zip", 140), ("zip-noconfig", 14),
        ])
    func loadPredictKinds(name: String, score: Int) async throws {
        let result = try await Harness(name).result(#"{"args": {"values": [1, 2, 3]}}"#)
        let config = name.hasSuffix("noconfig") ? "null" : #"{"scale": 10}"#
        #expect(try result == canonical(#"{"score": \#(score), "config": \#(config)}"#))
    }

    @Test("a url input passes the file's bytes, by path or file:// URL")
    func urlInput() async throws {
        let harness = try await Harness("bytes-echo")
        let file = try Checkout.temporaryFolder("input").appending(path: "in.bin")
        try Data("hello".utf8).write(to: file)
        for location in [file.path, file.absoluteString] {
            let result = try await harness.result(#"{"url": "\#(location)"}"#)
            let sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
            #expect(try result == canonical(#"{"length": 5, "sha256": "\#(sha256)"}"#))
        }
    }

    @Test("an unreadable url is a FAILURE that names it, a URL's password hidden")
    func missingURL() async throws {
        let response = try await Harness("bytes-echo").run(#"{"url": "/no/such/input"}"#)
        #expect(response.status == .failure)
        #expect(response.traceback?.contains("/no/such/input does not exist") == true)
        let folder = NSTemporaryDirectory()
        let notAFile = try await Harness("bytes-echo").run(#"{"url": "\#(folder)"}"#)
        #expect(notAFile.status == .failure)
        #expect(notAFile.traceback?.contains("\(folder) is not a regular file") == true)
        // Logged too (the task's input_error): a URL's password is shown as ***.
        let withPassword = try await Harness("bytes-echo").run(#"{"url": "http://u:url-secret@127.0.0.1:1/x"}"#)
        #expect(withPassword.status == .failure)
        #expect(withPassword.traceback?.contains("the request's input http://u:***@127.0.0.1:1/x ") == true)
        #expect(withPassword.traceback?.contains("url-secret") == false)
    }

    @Test("a pickled result is stored durably and reads back equal")
    func pickledResult() async throws {
        let harness = try await Harness("function")
        let response = try await harness.run(#"{"args": {"x": 1, "y": 2}, "return_pickled": true}"#, taskID: "task-1")
        #expect(response.status == .success)
        #expect(response.result == nil)
        let url = try #require(response.resultURL.flatMap(URL.init(string:)))
        #expect(url == harness.results.appending(path: "task-1.pkl"))
        #expect(try await unpickledJSON(at: url.path) == #"{"sum": 3}"#)
    }

    @Test("a predict that raises is a FAILURE with the exception type and traceback")
    func raises() async throws {
        let response = try await Harness("raises").run(#"{"args": {"x": 7}}"#)
        #expect(response.status == .failure)
        let traceback = try #require(response.traceback)
        #expect(traceback.hasPrefix("Traceback (most recent call last):"))
        #expect(traceback.contains("ValueError: bad input: 7"))
    }

    @Test("an output JSON cannot encode is a FAILURE that says so and points to pickling")
    func notJSONSerializable() async throws {
        let harness = try await Harness("not-json-serializable")
        let response = try await harness.run(#"{"args": {"x": 1}}"#)
        #expect(response.status == .failure)
        #expect(response.traceback?.contains("ResultNotJSONSerializable") == true)
        #expect(response.traceback?.contains("return_pickled") == true)
        let pickled = try await harness.run(#"{"args": {"x": 1}, "return_pickled": true}"#)
        #expect(pickled.status == .success)
    }

    @Test(
        "load failures carry the Python traceback",
        arguments: [
            ("load-raises", "RuntimeError: cannot load weights"),
            ("dict-neither", "Need to specify either 'model' or 'load_model_fn'"),
            ("unpicklable", "ArtifactUnpicklingError"),
        ])
    func loadFailures(name: String, expected: String) async throws {
        let interpreter = try await SharedInterpreter.get()
        let bundle = try BundleDirectory(path: try await FixtureBundles.path(name))
        let error = await #expect(throws: BundleLoadError.self) {
            _ = try await LoadedBundle.load(bundle, codeFolder: nil, interpreter: interpreter)
        }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
        #expect(error?.python.traceback.contains("Traceback (most recent call last):") == true)
    }

    @Test("a bundle.json without packaging_type is refused before Python runs")
    func missingField() async throws {
        let path = try await FixtureBundles.path("missing-field")
        let error = #expect(throws: BundleError.self) { try BundleDirectory(path: path) }
        #expect(error?.field == "packaging_type")
    }
}
