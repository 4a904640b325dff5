import Foundation
import TestSupport
import Testing

/// A fixture with the tinypkg and (stand-in) torch wheels, and a bundle needing tinypkg.
private func tinyBundle(_ purpose: String) async throws -> (EnvironmentFixture, String) {
    let fixture = try EnvironmentFixture(purpose)
    try await fixture.makeWheel("tinypkg", "1.2.0")
    try await fixture.makeWheel("torch", "1.7.1")
    return (fixture, try await fixture.makeBundle("tiny", requirements: ["tinypkg==1.2.0", "torch"]))
}

@Suite("run, serve and bench in a bundle's environment")
struct EnvironmentRunTests {
    @Test("run prepares the environment of a bundle with requirements, and says which it used, built or found")
    func runPrepares() async throws {
        let (fixture, bundle) = try await tinyBundle("run")
        let arguments = ["run", bundle, "--cache-dir", fixture.cache.path, "--args", #"{"who": "Ada"}"#]
        let first = try await launchWorker(arguments, environment: fixture.environment())
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try printedResponse(first)["result"]?.contains("tinypkg 1.2.0 greets Ada") == true)
        #expect(first.stderr.contains("from=the bundle's environment, built now"))
        #expect(first.stderr.contains("folder=\(fixture.environments.path)/"))

        let second = try await launchWorker(arguments, environment: fixture.environment())
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("from=the bundle's environment, found in the cache"))
    }

    @Test("--environment none and --python-env use the default environment; --environment DIR that one")
    func chosenEnvironments() async throws {
        let (fixture, bundle) = try await tinyBundle("choose")
        let base = ["run", bundle, "--cache-dir", fixture.cache.path, "--args", #"{"who": "Ada"}"#]
        let none = try await launchWorker(base + ["--environment", "none"], environment: fixture.environment())
        #expect(none.status == 1)
        #expect(try printedResponse(none)["traceback"]?.contains("No module named 'tinypkg'") == true)
        let explicit = try await launchWorker(
            base + ["--python-env", Checkout.venv.path], environment: fixture.environment())
        #expect(explicit.status == 1)
        #expect(explicit.stderr.contains("from=--python-env"))
        #expect(fixture.readyEnvironments.isEmpty)

        let prepared = try await prepare(bundle, fixture)
        let folder = prepared.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let named = try await launchWorker(base + ["--environment", folder], environment: fixture.environment())
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stderr.contains("from=--environment"))
    }

    @Test("serve prepares the environment and answers a task that imports the requirement")
    func servePrepares() async throws {
        let (fixture, bundle) = try await tinyBundle("serve")
        let spool = try Checkout.temporaryFolder("env-spool")
        let submit = try await launchWorker(["submit", "--queue", "spool:\(spool.path)", "--args", #"{"who": "Bo"}"#])
        #expect(submit.status == 0, "\(submit.stderr)")
        let outcome = try await launchWorker(
            [
                "serve", bundle, "--cache-dir", fixture.cache.path, "--queue", "spool:\(spool.path)",
                "--exit-when-empty",
            ],
            environment: fixture.environment())
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("from=the bundle's environment, built now"))
        let taskID = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try String(contentsOf: spool.appending(path: "responses/\(taskID).json"), encoding: .utf8)
        #expect(answer.contains("tinypkg 1.2.0 greets Bo"), "\(answer)")
    }

    @Test("bench prepares the environment too")
    func benchPrepares() async throws {
        let (fixture, bundle) = try await tinyBundle("bench")
        let outcome = try await launchWorker(
            [
                "bench", bundle, "--cache-dir", fixture.cache.path, "--request", #"{"args": {"who": "Cy"}}"#,
                "--requests", "3", "--json", "--log-level", "info",
            ], environment: fixture.environment())
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("from=the bundle's environment, built now"))
        #expect(fixture.readyEnvironments.count == 1)
    }

    @Test("llm-engine's container variables: REQUIREMENTS_PATH names the bundle's requirements")
    func containerRequirements() async throws {
        let (fixture, bundle) = try await tinyBundle("container")
        let requirements = fixture.root.appending(path: "requirements.txt")
        try "# what the model needs\ntinypkg==1.2.0\n".write(to: requirements, atomically: true, encoding: .utf8)
        var environment = fixture.environment()
        environment["BUNDLE_URL"] = URL(filePath: bundle).appending(path: "artifact").path
        environment["REQUIREMENTS_PATH"] = requirements.path
        environment["LAUNCH_WORKER_CACHE_DIR"] = fixture.cache.path
        let outcome = try await launchWorker(["run", "--args", #"{"who": "Di"}"#], environment: environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try printedResponse(outcome)["result"]?.contains("tinypkg 1.2.0 greets Di") == true)
        #expect(outcome.stderr.contains("from=the bundle's environment, built now"))
    }
}
