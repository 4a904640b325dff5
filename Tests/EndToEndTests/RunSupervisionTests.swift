import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker run when the bundle ends the process or prints")
struct RunSupervisionTests {
    @Test("a predict that segfaults: every Python thread's stack, then what ended the process and when, exit 3")
    func segfault() async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("segfault"), "--args", #"{"x": 1}"#])
        #expect(outcome.status == 3)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("Fatal Python error: Segmentation fault"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("Current thread 0x"))
        #expect(outcome.stderr.contains("in crash_in_c"))
        #expect(
            outcome.stderr.hasSuffix("error: the bundle ended the process (signal 11, SIGSEGV) during predict\n"),
            "\(outcome.stderr)")
    }

    @Test("a predict that calls os._exit: its status and the phase, exit 3")
    func exitDuringPredict() async throws {
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("crash-on"), "--args", #"{"x": "crash"}"#,
        ])
        #expect(outcome.status == 3)
        #expect(outcome.stdout.isEmpty)
        #expect(
            outcome.stderr.hasSuffix("error: the bundle ended the process (exit status 17) during predict\n"),
            "\(outcome.stderr)")
    }

    @Test("a load function that calls os._exit: the error says during load, exit 3")
    func exitDuringLoad() async throws {
        let outcome = try await launchWorker(["run", try await FixtureBundles.path("load-exits"), "--args", "{}"])
        #expect(outcome.status == 3)
        #expect(outcome.stdout.isEmpty)
        #expect(
            outcome.stderr.hasSuffix("error: the bundle ended the process (exit status 5) during load\n"),
            "\(outcome.stderr)")
    }

    @Test("a predict's prints (Python's and writes to fd 1) go to stderr; stdout holds the response alone")
    func prints() async throws {
        // Without PYTHONUNBUFFERED, which would hide prints lost in a buffer at exit.
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = nil
        let outcome = try await launchWorker(
            ["run", try await FixtureBundles.path("prints"), "--args", #"{"x": 7}"#], environment: environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try printedResponse(outcome) == ["status": "SUCCESS", "result": #"{"x": 7}"#])
        #expect(outcome.stderr.contains("print from predict: 7\n"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("fd 1 write from predict\n"))
    }

    @Test("a response many times the pipe's buffer reaches stdout whole")
    func largeResponse() async throws {
        let name = String(repeating: "n", count: 1 << 20)
        let args = try Checkout.temporaryFolder("large-response").appending(path: "args.json")
        try #"{"name": "\#(name)"}"#.write(to: args, atomically: true, encoding: .utf8)
        let outcome = try await launchWorker([
            "run", try await FixtureBundles.path("instance-init"), "--args", "@\(args.path)",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let result = try #require(try printedResponse(outcome)["result"])
        #expect(result.contains("Hello, \(name)\""))
    }

    @Test("a killed run leaves no child running its predict, once its idle threads have ended too")
    func killedRun() async throws {
        let run = try LaunchedProcess(
            Checkout.executable, ["run", try await FixtureBundles.path("sleepy"), "--args", #"{"seconds": 1000}"#])
        try await eventually("the child runs the predict") { run.stderr().contains("bundle loaded") }
        let child = try #require(children(of: run.pid).first, "\(run.stderr())")
        // Swift's pool ends threads that sit idle for a few seconds, and the child's request to
        // die with its parent once went with such a thread. Where none ends, the test goes on.
        let threads = child.threadCount
        try? await eventually("one of the child's threads ended") { child.threadCount < threads }
        run.send(SIGTERM)
        #expect(await run.exitStatus() == SIGTERM)
        do {
            try await eventually("the child is gone") { !child.isRunning }
        } catch {
            Issue.record("\(error): \(child)")
        }
    }

    @Test("serve: a task that segfaults leaves every Python thread's stack on stderr")
    func serveSegfault() async throws {
        let spool = try TestSpool("segfault")
        try spool.submit(#"{"args": {"x": 1}}"#, id: "crash")
        let worker = try await spool.serve("segfault")
        #expect(try await worker.exitStatus(within: .seconds(120)) == SIGSEGV)
        let stderr = worker.stderr()
        #expect(stderr.contains("Fatal Python error: Segmentation fault"), "\(stderr)")
        #expect(stderr.contains("in crash_in_c"))
    }
}
