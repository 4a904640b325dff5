import Foundation
import SpoolQueue
import TestSupport
import Testing
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A spool folder for one test, with a producer and ways to read what the workers did.
struct TestSpool {
    let layout: SpoolLayout
    let producer: SpoolProducer

    init(_ purpose: String) throws {
        layout = SpoolLayout(root: try Checkout.temporaryFolder("spool-\(purpose)"))
        producer = try SpoolProducer(layout: layout)
    }

    var address: String { "spool:\(layout.root.path)" }

    func submit(_ json: String, id: String) throws {
        try producer.submit(Array(json.utf8), id: id)
    }

    func response(_ id: String) -> SpoolResponse { producer.status(of: id) }

    func names(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    var responseCount: Int { names(layout.responses).count }

    /// Submits `count` tasks `t0`... for the `record` bundle, which appends each run's `x` to
    /// the returned log file: a task run twice shows there twice.
    func submitRecorded(_ count: Int) throws -> URL {
        let log = layout.root.appending(path: "runs.log")
        for index in 0..<count { try submit(#"{"args": {"x": \#(index), "log": "\#(log.path)"}}"#, id: "t\(index)") }
        return log
    }

    /// Every task file still claimed by any worker (not a worker's spare files, which are hidden).
    var claimedTasks: [String] {
        names(layout.claimed).flatMap { names(layout.claimed.appending(path: $0)).filter { !$0.hasPrefix(".") } }
    }

    /// Starts `launch-worker serve BUNDLE --queue <this spool>` with more arguments.
    func serve(_ bundle: String, _ arguments: [String] = []) async throws -> LaunchedProcess {
        try LaunchedProcess(
            Checkout.executable, ["serve", try await FixtureBundles.path(bundle), "--queue", address] + arguments)
    }
}

@Suite("launch-worker serve with a spool")
struct ServeCommandTests {
    @Test("several workers on one spool answer every task exactly once and never run one twice")
    func severalWorkers() async throws {
        let spool = try TestSpool("several")
        let log = spool.layout.root.appending(path: "runs.log")
        for index in 0..<60 { try spool.submit(#"{"args": {"x": \#(index), "log": "\#(log.path)"}}"#, id: "t\(index)") }
        var workers: [LaunchedProcess] = []
        for _ in 0..<3 { workers.append(try await spool.serve("record", ["--per-worker", "2", "--exit-when-empty"])) }
        for worker in workers { #expect(await worker.exitStatus() == 0, "\(worker.stderr())") }
        #expect(spool.responseCount == 60)
        for index in 0..<60 { #expect(spool.response("t\(index)").status == .success) }
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == 60)
        #expect(Set(runs).count == 60)
        #expect(spool.names(spool.layout.incoming).isEmpty)
        #expect(spool.claimedTasks.isEmpty)
    }

    @Test("--per-worker 4 runs four tasks at once: four calls meet at a barrier")
    func overlap() async throws {
        let spool = try TestSpool("overlap")
        for index in 0..<8 { try spool.submit(#"{"args": {"index": \#(index)}}"#, id: "t\(index)") }
        let worker = try await spool.serve("barrier", ["--per-worker", "4", "--exit-when-empty"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        for index in 0..<8 { #expect(spool.response("t\(index)").status == .success) }
    }

    @Test("kill -9 mid-batch, then a new worker: every task ends with one response, none lost")
    func killNine() async throws {
        let spool = try TestSpool("kill")
        for index in 0..<12 { try spool.submit(#"{"args": {"seconds": 0.1}}"#, id: "t\(index)") }
        let victim = try await spool.serve("sleepy", ["--per-worker", "2"])
        try await eventually("the first worker answered some tasks") { spool.responseCount >= 2 }
        victim.send(SIGKILL)
        #expect(await victim.exitStatus() == SIGKILL)
        let rescuer = try await spool.serve("sleepy", ["--per-worker", "2", "--exit-when-empty"])
        #expect(await rescuer.exitStatus() == 0, "\(rescuer.stderr())")
        #expect(spool.responseCount == 12)
        for index in 0..<12 { #expect(spool.response("t\(index)").status == .success) }
        #expect(spool.claimedTasks.isEmpty)
        #expect(spool.names(spool.layout.incoming).isEmpty)
    }

    @Test(
        "per_worker 1, fsync on and off: hundreds of quick tasks are each run once and answered once",
        arguments: [[], ["--no-fsync"]])
    func groupCommit(flags: [String]) async throws {
        let spool = try TestSpool("group-commit")
        let log = try spool.submitRecorded(300)
        let worker = try await spool.serve("record", ["--exit-when-empty"] + flags)
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(spool.responseCount == 300)
        for index in 0..<300 { #expect(spool.response("t\(index)").result == #"{"x": \#(index)}"#) }
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == 300)
        #expect(Set(runs).count == 300)
        #expect(spool.claimedTasks.isEmpty)
        #expect(spool.names(spool.layout.incoming).isEmpty)
        #expect(spool.names(spool.layout.attempts).isEmpty)
    }

    @Test("SIGTERM mid-run with fsync on: every task is answered or back in incoming/, and only answered ones ran")
    func drainMidRun() async throws {
        let spool = try TestSpool("drain-mid-run")
        let log = try spool.submitRecorded(300)
        let worker = try await spool.serve("record", [])
        try await eventually("some tasks were answered") { spool.responseCount >= 20 }
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        let answered = spool.names(spool.layout.responses)
        let queued = spool.names(spool.layout.incoming)
        #expect(answered.count + queued.count == 300)
        #expect(Set(answered).isDisjoint(with: queued))
        #expect(spool.claimedTasks.isEmpty)
        #expect(spool.names(spool.layout.attempts).isEmpty)
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { "t\($0).json" }
        #expect(runs.sorted() == answered)
    }

    @Test(
        "kill -9 amid quick tasks, then a new worker: staged answers are published; at most the running task runs again"
    )
    func killNineQuick() async throws {
        let spool = try TestSpool("kill-quick")
        let log = try spool.submitRecorded(300)
        let victim = try await spool.serve("record", [])
        try await eventually("the first worker answered some tasks") { spool.responseCount >= 50 }
        victim.send(SIGKILL)
        #expect(await victim.exitStatus() == SIGKILL)
        let rescuer = try await spool.serve("record", ["--exit-when-empty"])
        #expect(await rescuer.exitStatus() == 0, "\(rescuer.stderr())")
        #expect(spool.responseCount == 300)
        let attempts = (0..<300).map { spool.response("t\($0)").attempt }
        #expect(attempts.filter { $0 == 1 }.count >= 299)
        #expect(attempts.allSatisfy { $0 == 1 || $0 == 2 })
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(Set(runs).count == 300)
        #expect(runs.count <= 301)
        #expect(spool.claimedTasks.isEmpty)
        #expect(spool.names(spool.layout.incoming).isEmpty)
    }

    @Test("answers that cannot be made durable by exit stay staged, and the next worker publishes them")
    func commitFailsAtExit() async throws {
        let spool = try TestSpool("commit-fails")
        let readyFile = spool.layout.root.appending(path: "ready")
        let worker = try await spool.serve("function", ["--drain-timeout", "0.5", "--ready-file", readyFile.path])
        try await eventually("the worker is ready") { FileManager.default.fileExists(atPath: readyFile.path) }
        // responses/ is a plain file for a while: no commit can open it.
        let away = spool.layout.root.appending(path: "responses-away")
        try FileManager.default.moveItem(at: spool.layout.responses, to: away)
        try Data().write(to: spool.layout.responses)
        try spool.submit(#"{"args": {"x": 1, "y": 2}}"#, id: "t1")
        try await eventually("the failing commit was logged") {
            worker.stderr().contains("cannot make answers durable")
        }
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(worker.stderr().contains("they stay staged in its claim folder for recovery"))
        #expect(spool.claimedTasks == ["t1.answer", "t1.json"])
        #expect(spool.response("t1").status == .started)

        try FileManager.default.removeItem(at: spool.layout.responses)
        try FileManager.default.moveItem(at: away, to: spool.layout.responses)
        let next = try await spool.serve("function", ["--exit-when-empty"])
        #expect(await next.exitStatus() == 0, "\(next.stderr())")
        #expect(spool.response("t1").result == #"{"sum": 3}"#)
        #expect(spool.response("t1").attempt == 1)
        #expect(spool.names(spool.layout.attempts).isEmpty)
        #expect(spool.claimedTasks.isEmpty)
    }

    @Test("a task that crashes the worker every time ends in dead/ after --max-attempts; the others succeed")
    func crashingTask() async throws {
        let spool = try TestSpool("crash")
        for index in 0..<4 { try spool.submit(#"{"args": {"x": "ok\#(index)"}}"#, id: "ok\(index)") }
        try spool.submit(#"{"args": {"x": "crash"}}"#, id: "crash")
        var statuses: [Int32] = []
        for _ in 0..<5 {
            let worker = try await spool.serve("crash-on", ["--max-attempts", "2", "--exit-when-empty"])
            let status = await worker.exitStatus()
            statuses.append(status)
            if status == 0 { break }
        }
        #expect(statuses.last == 0)
        #expect(statuses.dropLast().allSatisfy { $0 == 17 })
        #expect(statuses.count == 3)
        #expect(spool.names(spool.layout.dead) == ["crash.json"])
        let dead = spool.response("crash")
        #expect(dead.status == .failure)
        #expect(dead.traceback?.contains("died 2 times") == true)
        for index in 0..<4 { #expect(spool.response("ok\(index)").status == .success) }
    }

    @Test("a task past --task-timeout is interrupted and answered FAILURE, even if it catches Exception")
    func timeout() async throws {
        let spool = try TestSpool("timeout")
        try spool.submit(#"{"args": {"seconds": 120}}"#, id: "spin")
        try spool.submit(#"{"args": {"seconds": 0}}"#, id: "quick")
        let worker = try await spool.serve("spin", ["--task-timeout", "1", "--exit-when-empty"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        let timedOut = spool.response("spin")
        #expect(timedOut.status == .failure)
        #expect(timedOut.traceback?.hasPrefix("timed out after 1 s") == true)
        #expect(timedOut.traceback?.contains("TaskTimedOut") == true)
        #expect(spool.response("quick").status == .success)

        let swallowing = try TestSpool("swallow")
        try swallowing.submit(#"{"args": {"seconds": 120}}"#, id: "swallow")
        let second = try await swallowing.serve("swallow", ["--task-timeout", "1", "--exit-when-empty"])
        #expect(await second.exitStatus() == 0, "\(second.stderr())")
        #expect(swallowing.response("swallow").traceback?.hasPrefix("timed out after 1 s") == true)
    }

    @Test("the worker's own threads carry their names, for ps -L, top -H and profilers")
    func threadNames() async throws {
        let spool = try TestSpool("thread-names")
        try spool.submit(#"{"args": {"seconds": 0}}"#, id: "quick")
        let worker = try await spool.serve("sleepy", ["--task-timeout", "60"])
        try await eventually("the task is answered") { spool.response("quick").status == .success }
        let names = ChildProcess(worker.pid).threadNames
        #expect(names.isSuperset(of: ["python-slot", "spool-commit", "deadline-watch", "log-writer"]), "\(names)")
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
    }

    @Test("a task stuck in C code makes the worker not ready, and --exit-on-stuck exits 3 leaving it for recovery")
    func stuck() async throws {
        let spool = try TestSpool("stuck")
        let readyFile = spool.layout.root.appending(path: "ready")
        try spool.submit(#"{"args": {"seconds": 120}}"#, id: "stuck")
        let worker = try await spool.serve(
            "sleepy",
            ["--task-timeout", "0.5", "--stuck-grace", "0.5", "--exit-on-stuck", "--ready-file", readyFile.path])
        #expect(await worker.exitStatus() == 3)
        #expect(worker.stderr().contains("stuck"))
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))
        #expect(spool.claimedTasks == ["stuck.json"])
        #expect(spool.response("stuck").status == .started)
        // The next worker takes it back with the attempt counted.
        _ = try SpoolQueue(layout: spool.layout, configuration: .init(), logger: .init(label: "t"))
        #expect(spool.response("stuck").status == .pending)
        #expect(try String(contentsOf: spool.layout.attempts.appending(path: "stuck"), encoding: .utf8) == "1\n")
    }

    @Test("SIGTERM: in-flight tasks finish, the rest stay queued, the ready file goes, exit 0")
    func gracefulDrain() async throws {
        let spool = try TestSpool("drain")
        let readyFile = spool.layout.root.appending(path: "ready")
        // The tasks run until the test makes their gate file, once the drain has begun.
        let gate = spool.layout.root.appending(path: "gate").path
        for index in 0..<6 { try spool.submit(#"{"args": {"gate": "\#(gate)"}}"#, id: "t\(index)") }
        let worker = try await spool.serve("gated", ["--per-worker", "2", "--ready-file", readyFile.path])
        try await eventually("two tasks started") { spool.claimedTasks.count == 2 }
        #expect(FileManager.default.fileExists(atPath: readyFile.path))
        worker.send(SIGTERM)
        try await eventually("the drain began") { !FileManager.default.fileExists(atPath: readyFile.path) }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(spool.responseCount == 2)
        #expect(spool.names(spool.layout.incoming).count == 4)
        #expect(spool.claimedTasks.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))
        #expect(worker.stderr().contains("launch_worker_tasks_total{status=\"SUCCESS\"} 2"))
    }

    @Test("a second SIGTERM exits at once; the claim returns on the next start")
    func secondSignal() async throws {
        let spool = try TestSpool("second-signal")
        try spool.submit(#"{"args": {"seconds": 120}}"#, id: "long")
        let worker = try await spool.serve("sleepy", [])
        try await eventually("the task started") { spool.claimedTasks.count == 1 }
        worker.send(SIGTERM)
        try await eventually("the first signal was handled") { worker.stderr().contains("shutting down gracefully") }
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 128 + SIGTERM)
        #expect(spool.claimedTasks == ["long.json"])
        _ = try SpoolQueue(layout: spool.layout, configuration: .init(), logger: .init(label: "t"))
        #expect(spool.response("long").status == .pending)
    }

    @Test("past --drain-timeout, unfinished tasks go back to incoming, not lost")
    func drainDeadline() async throws {
        let spool = try TestSpool("deadline")
        try spool.submit(#"{"args": {"seconds": 120}}"#, id: "long")
        let worker = try await spool.serve("sleepy", ["--drain-timeout", "0.5"])
        try await eventually("the task started") { spool.claimedTasks.count == 1 }
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(spool.names(spool.layout.incoming) == ["long.json"])
        #expect(spool.responseCount == 0)
        #expect(spool.names(spool.layout.attempts).isEmpty)
    }

    @Test("corrupt task files get a FAILURE naming the problem, go to dead/, and are never retried")
    func corruptTasks() async throws {
        let spool = try TestSpool("corrupt")
        try spool.submit("{not json", id: "bad-json")
        try spool.submit(#"{"args": {"x": 1}, "url": "/x"}"#, id: "both")
        try spool.submit(#"{"return_pickled": true}"#, id: "neither")
        try spool.submit(#"{"args": [1, 2]}"#, id: "wrong-type")
        try spool.submit(#"{"args": {"x": 1, "y": 2}}"#, id: "good")
        let worker = try await spool.serve("function", ["--exit-when-empty"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        let expected = [
            "bad-json": "not valid JSON", "both": #""args" and "url""#, "neither": "none of",
            "wrong-type": "parameter names",
        ]
        for (id, reason) in expected {
            let response = spool.response(id)
            #expect(response.status == .failure)
            #expect(response.traceback?.contains(reason) == true, "\(id): \(response.traceback ?? "")")
        }
        #expect(spool.names(spool.layout.dead) == ["bad-json.json", "both.json", "neither.json", "wrong-type.json"])
        #expect(spool.response("good").result == #"{"sum": 3}"#)
    }

    @Test("an output JSON cannot encode is a FAILURE response; a pickled one is stored durably first")
    func results() async throws {
        let spool = try TestSpool("results")
        try spool.submit(#"{"args": {"x": 1}}"#, id: "json")
        try spool.submit(#"{"args": {"x": 1}, "return_pickled": true}"#, id: "pickled")
        let worker = try await spool.serve("not-json-serializable", ["--exit-when-empty"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        #expect(spool.response("json").traceback?.contains("cannot be encoded as JSON") == true)
        let url = try #require(spool.response("pickled").resultURL.flatMap(URL.init(string:)))
        #expect(url.path == spool.layout.results.appending(path: "pickled.pkl").path)
        let check = "import pickle, sys; assert pickle.load(open(sys.argv[1], 'rb')) == {1}"
        #expect(try await runProcess(Checkout.python, ["-c", check, url.path]).status == 0)
    }

    @Test("a result that cannot be written leaves the task queued, and a later worker answers it")
    func unwritableResults() async throws {
        let spool = try TestSpool("unwritable")
        let blocked = spool.layout.root.appending(path: "blocked")
        try Data("a file, not a folder".utf8).write(to: blocked)
        try spool.submit(#"{"args": {"x": 1, "y": 2}, "return_pickled": true}"#, id: "t1")
        let failing = try await spool.serve("function", ["--results-dir", blocked.appending(path: "results").path])
        try await eventually("the storage failure was logged") { failing.stderr().contains("could not be stored") }
        failing.send(SIGTERM)
        #expect(await failing.exitStatus() == 0)
        #expect(spool.response("t1").status == .pending)

        let working = try await spool.serve("function", ["--exit-when-empty"])
        #expect(await working.exitStatus() == 0, "\(working.stderr())")
        #expect(spool.response("t1").status == .success)
    }

    @Test("a bundle that fails to load exits 2 with the traceback and never looks ready")
    func loadFailure() async throws {
        let spool = try TestSpool("load")
        let readyFile = spool.layout.root.appending(path: "ready")
        let worker = try await spool.serve("load-raises", ["--ready-file", readyFile.path])
        #expect(await worker.exitStatus() == 2)
        #expect(worker.stderr().contains("RuntimeError: cannot load weights"))
        #expect(worker.stderr().contains("Traceback"))
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))
    }

    @Test("a --queue that cannot be used is a usage error that names it with its passwords hidden")
    func badQueueHidesPasswords() async throws {
        let bad = "rediss://user:broker-secret@h/x?ssl_password=key-secret"
        for command in [
            ["serve", "function", "--queue", bad], ["batch", "--queue", bad, "--input", "-", "--output", "out"],
            ["status", "--queue", bad, "t1"], ["submit", "--queue", bad, "--args", "{}"],
        ] {
            let outcome = try await launchWorker(command)
            #expect(outcome.status == 2, "\(command[0]): \(outcome.stderr)")
            #expect(outcome.stderr.contains("--queue rediss://user:***@h/x?ssl_password=***: "), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("secret"), "\(command[0]): \(outcome.stderr)")
        }
    }

    @Test("submit --wait and status round-trip a task through a running worker")
    func submitAndStatus() async throws {
        let spool = try TestSpool("cli")
        let worker = try await spool.serve("function", [])
        let submitted = try await launchWorker([
            "submit", "--queue", spool.address, "--args", #"{"x": 20, "y": 22}"#, "--task-id", "answer", "--wait",
            "--timeout", "60",
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdout.contains(#""result":"{\"sum\": 42}""#))
        let status = try await launchWorker(["status", "--queue", spool.address, "answer"])
        #expect(status.stdout.contains(#""status":"SUCCESS""#))
        let unknown = try await launchWorker(["status", "--queue", spool.address, "nope"])
        #expect(unknown.stdout.contains(#""status":"UNDEFINED""#))
        worker.send(SIGTERM)
        #expect(await worker.exitStatus() == 0)
    }
}
