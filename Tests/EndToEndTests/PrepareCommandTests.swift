import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `launch-worker prepare BUNDLE --cache-dir <the fixture's cache>` with the fixture's variables.
func prepare(
    _ bundle: String, _ fixture: EnvironmentFixture, _ arguments: [String] = [], findLinks: [String]? = nil
) async throws -> ProcessOutcome {
    try await launchWorker(
        ["prepare", bundle, "--cache-dir", fixture.cache.path] + arguments,
        environment: fixture.environment(findLinks: findLinks))
}

@Suite("launch-worker prepare")
struct PrepareCommandTests {
    @Test(
        "builds the environment once (uv, from a local wheelhouse, no index), finds it after, and --log prints its log")
    func buildsThenFinds() async throws {
        let fixture = try EnvironmentFixture("builds")
        try await fixture.makeWheel("tinypkg", "1.2.0")
        let bundle = try await fixture.makeBundle("tiny", requirements: ["tinypkg==1.2.0", "torch"])
        try await fixture.makeWheel("torch", "1.7.1")
        let first = try await prepare(bundle, fixture)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("environment: installing 4 requirements"))
        #expect(first.stderr.contains("environment built"))
        let folder = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fixture.readyEnvironments == [URL(filePath: folder).lastPathComponent])
        let site = URL(filePath: folder).appending(path: "lib/python3.11/site-packages")
        #expect(FileManager.default.fileExists(atPath: site.appending(path: "tinypkg-1.2.0.dist-info").path))

        let second = try await prepare(bundle, fixture, ["--log"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("environment found"))
        #expect(!second.stderr.contains("installing"))
        #expect(second.stdout.hasPrefix(folder + "\n"))
        // The creation log: the installer's own lines, and each step with its time.
        #expect(second.stdout.contains("+ tinypkg==1.2.0"))
        #expect(second.stdout.contains("] built in "))
    }

    @Test("a private index's token is in no log and on no command line")
    func indexTokenHidden() async throws {
        let fixture = try EnvironmentFixture("index-token")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        let bundle = try await fixture.makeBundle("tiny", requirements: ["tinypkg", "torch"])
        try await fixture.makeWheel("torch", "1.7.1")
        var environment = fixture.environment()
        // pip's variable, given to uv as its own; PIP_NO_INDEX keeps it from being asked.
        environment["PIP_EXTRA_INDEX_URL"] = "https://ci:index-secret@127.0.0.1:9/simple"
        let outcome = try await launchWorker(
            ["prepare", bundle, "--cache-dir", fixture.cache.path, "--log"], environment: environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("$ ") && outcome.stdout.contains(" --no-index"), "\(outcome.stdout)")
        #expect(!(outcome.stdout + outcome.stderr).contains("index-secret"))
    }

    @Test("two prepares of the same environment at once build it once, and both use it")
    func concurrentPreparesBuildOnce() async throws {
        let fixture = try EnvironmentFixture("concurrent")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        let bundle = try await fixture.makeBundle("tiny", requirements: ["tinypkg", "torch"])
        try await fixture.makeWheel("torch", "1.7.1")
        async let one = prepare(bundle, fixture)
        async let two = prepare(bundle, fixture)
        let outcomes = try await [one, two]
        #expect(outcomes.map(\.status) == [0, 0], "\(outcomes.map(\.stderr))")
        #expect(Set(outcomes.map(\.stdout)).count == 1)
        #expect(outcomes.filter { $0.stderr.contains("environment built") }.count == 1)
        #expect(outcomes.filter { $0.stderr.contains("environment found") }.count == 1)
        #expect(fixture.readyEnvironments.count == 1)
        #expect(!fixture.environmentNames.contains { $0.hasPrefix(".tmp-") })
    }

    @Test(
        "a requirement that cannot be met fails with the log's tail and leaves nothing ready; a retry once the wheel is there works"
    )
    func unsatisfiableThenRetry() async throws {
        let fixture = try EnvironmentFixture("unsatisfiable")
        try await fixture.makeWheel("torch", "1.7.1")
        let bundle = try await fixture.makeBundle(
            "missing", module: "latepkg", requirements: ["latepkg==2.0", "torch"])
        let failed = try await prepare(bundle, fixture)
        #expect(failed.status == 2)
        #expect(failed.stderr.contains("its environment could not be built: installing its requirements failed"))
        #expect(failed.stderr.contains("its last lines:"))
        #expect(failed.stderr.contains("environment: failed: installing its requirements"))
        #expect(failed.stderr.contains("latepkg"))
        #expect(fixture.readyEnvironments.isEmpty)
        #expect(!fixture.environmentNames.contains { $0.hasPrefix(".tmp-") })
        // The failed build's log is kept.
        let logs = fixture.environmentNames.filter { $0.hasSuffix(".log") }
        #expect(logs.count == 1)

        try await fixture.makeWheel("latepkg", "2.0")
        let retried = try await prepare(bundle, fixture)
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(fixture.readyEnvironments.count == 1)
        let run = try await launchWorker(
            ["run", bundle, "--cache-dir", fixture.cache.path, "--args", #"{"who": "Ada"}"#],
            environment: fixture.environment())
        #expect(try printedResponse(run)["result"]?.contains("latepkg 2.0 greets Ada") == true, "\(run.stderr)")
    }

    @Test("a build killed mid-install (SIGKILL) leaves nothing ready, and the next prepare cleans it up and builds")
    func killedBuild() async throws {
        let fixture = try EnvironmentFixture("killed")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        try await fixture.makeWheel("torch", "1.7.1")
        let bundle = try await fixture.makeBundle("tiny", requirements: ["tinypkg", "torch"])
        // A wheel page that never answers holds the installer mid-build.
        let server = try await InputServer()
        let stalled = try LaunchedProcess(
            Checkout.executable, ["prepare", bundle, "--cache-dir", fixture.cache.path],
            environment: fixture.environment(findLinks: [server.url("/stall-head/"), fixture.wheelhouse.path]))
        try await eventually("the installer asks the stalled server") {
            server.requests.contains { $0.hasPrefix("/stall-head") }
        }
        stalled.send(SIGKILL)
        #expect(await stalled.exitStatus() == SIGKILL)
        #expect(fixture.readyEnvironments.isEmpty)
        #expect(fixture.environmentNames.contains { $0.hasPrefix(".tmp-") })

        let next = try await prepare(bundle, fixture)
        await server.stop()
        #expect(next.status == 0, "\(next.stderr)")
        #expect(fixture.readyEnvironments.count == 1)
        #expect(!fixture.environmentNames.contains { $0.hasPrefix(".tmp-") })
    }

    @Test("the bundle's own pin of a runtime need wins (cloudpickle 2.x), and pip builds when asked")
    func pinsWinWithPip() async throws {
        let fixture = try EnvironmentFixture("pins")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        try await fixture.makeWheel("torch", "1.7.1")
        let bundle = try await fixture.makeBundle("pinned", requirements: ["tinypkg", "torch", "cloudpickle==2.2.1"])
        let outcome = try await prepare(bundle, fixture, ["--installer", "pip"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("creating the environment with python -m venv and pip"))
        let site = URL(filePath: outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            .appending(path: "lib/python3.11/site-packages")
        #expect(FileManager.default.fileExists(atPath: site.appending(path: "cloudpickle-2.2.1.dist-info").path))
    }
}
