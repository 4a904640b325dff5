import Foundation
import TestSupport
import Testing

/// Runs the built `launch-worker` with `arguments`.
func launchWorker(_ arguments: [String], environment: [String: String]? = nil) async throws -> ProcessOutcome {
    try await runProcess(Checkout.executable, arguments, environment: environment)
}

/// The one JSON object `run` printed on stdout.
func printedResponse(_ outcome: ProcessOutcome) throws -> [String: String] {
    let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
    return try #require(object as? [String: String], "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
}

@Suite("launch-worker run")
struct RunCommandTests {
    @Test("a function bundle answers --args with Launch's response on stdout, exit 0")
    func success() async throws {
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("function"), "--args", #"{"x": 2, "y": 40}"#,
        ])
        #expect(outcome.status == 0)
        #expect(try printedResponse(outcome) == ["status": "SUCCESS", "result": #"{"sum": 42}"#])
        #expect(outcome.stderr.contains("bundle loaded"))
        #expect(outcome.stderr.contains("load_ms="))
    }

    @Test("--args @FILE and --request @FILE read a file")
    func argumentFiles() async throws {
        let folder = try Checkout.temporaryFolder("args-file")
        let args = folder.appending(path: "args.json")
        try #"{"x": 1, "y": 1}"#.write(to: args, atomically: true, encoding: .utf8)
        let request = folder.appending(path: "request.json")
        try #"{"args": {"x": 5, "y": 5}}"#.write(to: request, atomically: true, encoding: .utf8)
        let bundle = try await FixtureBundles.path("function")
        let fromArgs = try await launchWorker(["run", bundle, "--args", "@\(args.path)"])
        #expect(try printedResponse(fromArgs)["result"] == #"{"sum": 2}"#)
        let fromRequest = try await launchWorker(["run", bundle, "--request", "@\(request.path)"])
        #expect(try printedResponse(fromRequest)["result"] == #"{"sum": 10}"#)
    }

    @Test("--return-pickled writes the pickle under --results-dir and prints its file:// URL")
    func pickled() async throws {
        let results = try Checkout.temporaryFolder("cli-results")
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("zip"), "--args", #"{"values": [1, 1, 1]}"#, "--return-pickled",
            "--results-dir", results.path,
        ])
        #expect(outcome.status == 0)
        let url = try #require(try printedResponse(outcome)["result_url"].flatMap(URL.init(string:)))
        #expect(url.path.hasPrefix(results.path))
        #expect(try await unpickledJSON(at: url.path) == #"{"score": 60, "config": {"scale": 10}}"#)
    }

    @Test("--url passes a file's bytes")
    func url() async throws {
        let file = try Checkout.temporaryFolder("cli-url").appending(path: "input.txt")
        try Data("abc".utf8).write(to: file)
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("bytes-echo"), "--url", file.absoluteString,
        ])
        #expect(outcome.status == 0)
        #expect(try printedResponse(outcome)["result"]?.contains(#""length": 3"#) == true)
    }

    @Test("a predict that raises prints FAILURE with the traceback, exit 1")
    func failure() async throws {
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("raises"), "--args", #"{"x": "oops"}"#,
        ])
        #expect(outcome.status == 1)
        let response = try printedResponse(outcome)
        #expect(response["status"] == "FAILURE")
        #expect(response["traceback"]?.contains("ValueError: bad input: oops") == true)
    }

    @Test("an output JSON cannot encode is a FAILURE that says to pickle it, exit 1")
    func notSerializable() async throws {
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("not-json-serializable"), "--args", #"{"x": 1}"#,
        ])
        #expect(outcome.status == 1)
        #expect(try printedResponse(outcome)["traceback"]?.contains("--return-pickled") == true)
    }

    @Test("a load function that raises is a load error with its traceback, exit 2")
    func loadError() async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("load-raises"), "--args", "{}"])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("cannot load bundle"))
        #expect(outcome.stderr.contains("Traceback (most recent call last):"))
        #expect(outcome.stderr.contains("RuntimeError: cannot load weights"))
    }

    @Test("an unpicklable artifact is a load error, exit 2")
    func unpicklable() async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("unpicklable"), "--args", "{}"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("cannot be unpickled"))
    }

    @Test("a bundle.json missing a field is an error naming it, exit 2")
    func missingField() async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("missing-field"), "--args", "{}"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("field 'packaging_type' is missing"))
    }

    @Test(
        "bad requests are clear usage errors, exit 2",
        arguments: [
            (["--args", "{}", "--url", "/x"], "exactly one of"),
            ([], "exactly one of"),
            (["--args", "{nope"], "not valid JSON"),
            (["--args", "[1]"], "parameter names"),
            (["--request", #"{"args": {}, "url": "/x"}"#], #""args" and "url""#),
            (["--args", "@/no/such/file.json"], "cannot read"),
        ])
    func badRequests(arguments: [String], expected: String) async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("function")] + arguments)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains(expected), "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
    }
}

@Suite("launch-worker doctor and --version")
struct DoctorCommandTests {
    @Test("doctor names the embedded Python and its environment, exit 0")
    func healthy() async throws {
        let outcome = try await launchWorker(["doctor"])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("embedded Python: 3.11"))
        #expect(outcome.stdout.contains("Python environment: \(Checkout.venv.path)"))
        #expect(outcome.stdout.contains("ok       cloudpickle"))
    }

    @Test("doctor with an environment that is not there says so, exit 1")
    func missingEnvironment() async throws {
        let outcome = try await launchWorker(["doctor", "--python-env", "/no/such/venv"])
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("MISSING"))
    }

    @Test("doctor finds a venv that lacks the runtime's modules and says what to run")
    func missingModules() async throws {
        let venv = try Checkout.temporaryFolder("bare-venv").appending(path: "venv")
        let made = try await runProcess(URL(filePath: "/usr/bin/python3"), ["-m", "venv", "--without-pip", venv.path])
        try #require(made.status == 0, "\(made.stderr)")
        let outcome = try await launchWorker(["doctor", "--python-env", venv.path])
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("MISSING  cloudpickle"))
        #expect(outcome.stdout.contains("run scripts/setup"))
    }

    @Test("--version names the embedded Python")
    func version() async throws {
        let outcome = try await launchWorker(["--version"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("launch-worker "))
        #expect(outcome.stdout.contains("embeds Python 3.11"))
    }
}
