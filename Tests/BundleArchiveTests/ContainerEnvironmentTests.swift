import BundleArchive
import Foundation
import TestSupport
import Testing

/// llm-engine's container contract: no bundle argument, the bundle named by BUNDLE_URL and
/// friends, the config read from a base64 file.
@Suite("llm-engine's container variables")
struct ContainerEnvironmentTests {
    /// Writes base64 of `json` to `file`.
    func writeConfig(_ json: String, to file: URL) throws {
        try Data(Data(json.utf8).base64EncodedString().utf8).write(to: file)
    }

    @Test(
        "a zip bundle: BUNDLE_URL is the zip, the module paths come from the environment, the config from BASE_PATH/user_config"
    )
    func zipBundle() async throws {
        let fixture = URL(filePath: try await FixtureBundles.path("zip"))
        let base = try Checkout.temporaryFolder("app")
        try writeConfig(#"{"scale": 3}"#, to: base.appending(path: "user_config"))
        let cache = try Checkout.temporaryFolder("env-cache")
        let environment = [
            "BUNDLE_URL": fixture.appending(path: "artifact").absoluteString, "BASE_PATH": base.path,
            "LOAD_PREDICT_FN_MODULE_PATH": "fixture_model.service.load_predict",
            "LOAD_MODEL_FN_MODULE_PATH": "fixture_model.service.load_model",
            "LAUNCH_WORKER_CACHE_DIR": cache.path,
        ]
        let outcome = try await worker(["run", "--args", #"{"values": [1, 1, 1]}"#], environment: environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try response(outcome)["result"] == #"{"score": 18, "config": {"scale": 3}}"#)
        #expect(outcome.stderr.contains("bundle from llm-engine's container variables"))
        #expect(outcome.stderr.contains("packaging_type=zip"))

        // The same variables again: found in the cache, not put together twice.
        let again = try await worker(["run", "--args", #"{"values": [1, 0, 0]}"#], environment: environment)
        #expect(try response(again)["result"] == #"{"score": 3, "config": {"scale": 3}}"#)
        #expect(again.stderr.contains("bundle found in the cache"))
    }

    @Test("a cloudpickle bundle over http://, the config at USER_CONFIG_LOCATION")
    func cloudpickleOverHTTP() async throws {
        let fixture = URL(filePath: try await FixtureBundles.path("instance-init"))
        let served = try Checkout.temporaryFolder("served")
        try FileManager.default.copyItem(
            at: fixture.appending(path: "artifact"), to: served.appending(path: "model.pkl"))
        let server = try await LocalHTTPServer(serving: served)
        let config = try Checkout.temporaryFolder("config").appending(path: "config.b64")
        try writeConfig(#"{"greeting": "Ahoy"}"#, to: config)
        let outcome = try await worker(
            ["run", "--args", #"{"name": "Ada"}"#],
            environment: [
                "BUNDLE_URL": server.base.appending(path: "model.pkl").absoluteString,
                "USER_CONFIG_LOCATION": config.path,
                "LAUNCH_WORKER_CACHE_DIR": try Checkout.temporaryFolder("env-cache").path,
            ])
        await server.stop()
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let result = try #require(try response(outcome)["result"])
        #expect(result.contains(#""greeting": "Ahoy, Ada""#))
        #expect(result.contains(#""init_calls": 1"#))
        #expect(outcome.stderr.contains("downloaded"))
    }

    @Test("without a config file the bundle gets no config, as in llm-engine")
    func noConfig() async throws {
        let fixture = URL(filePath: try await FixtureBundles.path("instance-init"))
        let outcome = try await worker(
            ["run", "--args", #"{"name": "Ada"}"#],
            environment: [
                "BUNDLE_URL": fixture.appending(path: "artifact").path,
                "BASE_PATH": try Checkout.temporaryFolder("empty-app").path,
                "LAUNCH_WORKER_CACHE_DIR": try Checkout.temporaryFolder("env-cache").path,
            ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try response(outcome)["result"]?.contains(#""greeting": "Hi, Ada""#) == true)
    }

    @Test(
        "missing or wrong variables are errors that say what to set, exit 2",
        arguments: [
            ([:], "BUNDLE_URL is not set"),
            (["BUNDLE_URL": "/no/such/artifact"], "names no artifact file"),
            (["BUNDLE_URL": "s3://bucket/key"], "URL scheme 's3'"),
            (
                ["BUNDLE_URL": "/etc/hostname", "LOAD_PREDICT_FN_MODULE_PATH": "a.b"],
                "LOAD_MODEL_FN_MODULE_PATH is not set"
            ),
            (["BUNDLE_URL": "/etc/hostname", "USER_CONFIG_LOCATION": "/etc/hostname"], "is not base64"),
        ])
    func errors(_ variables: [String: String], _ message: String) async throws {
        var environment = variables
        environment["LAUNCH_WORKER_CACHE_DIR"] = try Checkout.temporaryFolder("env-cache").path
        let outcome = try await worker(["run", "--args", "{}"], environment: environment)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test("serve with no bundle argument reads the same variables")
    func serve() async throws {
        let fixture = URL(filePath: try await FixtureBundles.path("function"))
        let spool = try Checkout.temporaryFolder("env-spool")
        let submit = try await worker(["submit", "--queue", "spool:\(spool.path)", "--args", #"{"x": 1, "y": 2}"#])
        #expect(submit.status == 0, "\(submit.stderr)")
        let outcome = try await worker(
            ["serve", "--queue", "spool:\(spool.path)", "--exit-when-empty"],
            environment: [
                "BUNDLE_URL": fixture.appending(path: "artifact").path,
                "LAUNCH_WORKER_CACHE_DIR": try Checkout.temporaryFolder("env-cache").path,
            ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let taskID = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try String(contentsOf: spool.appending(path: "responses/\(taskID).json"), encoding: .utf8)
        #expect(answer.contains(#"{\"sum\": 3}"#), "\(answer)")
    }
}
