import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `launch-worker serve --processes P` supervisor, read through its log: the worker processes
/// it started, by place.
struct PoolProcess {
    let process: LaunchedProcess

    /// Every worker process started so far, oldest first: (place, pid).
    var started: [(place: Int, pid: pid_t)] {
        process.stderr().split(separator: "\n").filter { $0.contains("started worker process") }.compactMap { line in
            guard let pid = Self.value("pid", in: line), let place = Self.value("process", in: line) else { return nil }
            return (place, pid_t(pid))
        }
    }

    /// The worker processes now alive, one per place (the last started in each).
    var current: [Int: pid_t] {
        Dictionary(started.map { ($0.place, $0.pid) }, uniquingKeysWith: { $1 })
    }

    /// Waits until `count` worker processes of `worker`'s pool are ready (its gauge in
    /// `/metrics`): the pool's ready file needs only one, and while none is, the supervisor
    /// answers 503 itself.
    static func allReady(_ worker: HTTPWorker, _ count: Int) async throws {
        try await eventually("\(count) worker processes are ready") {
            try await worker.send("GET", "/metrics").body.contains(
                #"launch_worker_pool_processes{state="ready"} \#(count)"#)
        }
    }

    /// How many times the log says a worker process died.
    var deaths: Int { process.stderr().components(separatedBy: "worker process died").count - 1 }

    private static func value(_ key: String, in line: Substring) -> Int? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

@Suite("launch-worker serve --processes")
struct ProcessPoolTests {
    @Test("over HTTP every worker process accepts on the one socket; the supervisor writes the ready file and drains")
    func http() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        let pool = PoolProcess(process: worker.process)
        let readyLines = try String(contentsOf: worker.readyFile, encoding: .utf8).split(separator: "\n")
        #expect(readyLines.first == "pid \(worker.process.pid)")
        var answeredBy = Set<Int>()
        try await eventually("both worker processes answered") {
            let responses = try await concurrently(8) { _ in
                try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
            }
            for response in responses {
                #expect(response.status == 200, "\(response.body)")
                answeredBy.insert(try #require(Self.result(response)["pid"] as? Int))
            }
            return answeredBy.count == 2
        }
        #expect(answeredBy == Set(pool.current.values.map(Int.init)))
        // Named threads, for ps -L, top -H and profilers.
        let supervisorThreads = ChildProcess(worker.process.pid).threadNames
        #expect(supervisorThreads.isSuperset(of: ["pool-answerer", "pool-members"]), "\(supervisorThreads)")
        for pid in pool.current.values {
            let threads = ChildProcess(pid).threadNames
            #expect(threads.isSuperset(of: ["http-acceptor", "python-slot"]), "\(threads)")
        }
        #expect(await worker.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: worker.readyFile.path))
    }

    @Test("over a Unix socket every worker process accepts on the one socket")
    func unixSocket() async throws {
        let socket = try Checkout.temporaryFolder("pool-unix").appending(path: "pool.sock").path
        let worker = try await HTTPWorker.start("whoami", "unix:\(socket)", ["--processes", "2"])
        var answeredBy = Set<Int>()
        try await eventually("both worker processes answered") {
            let responses = try await concurrently(8) { _ in
                try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
            }
            for response in responses { answeredBy.insert(try #require(Self.result(response)["pid"] as? Int)) }
            return answeredBy.count == 2
        }
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int)
        #expect(mode & 0o077 == 0)
        #expect(await worker.stop() == 0)
    }

    @Test("with a spool and --exit-when-empty every task is answered once and the pool exits 0")
    func spoolExitWhenEmpty() async throws {
        let spool = try TestSpool("pool")
        let log = try spool.submitRecorded(40)
        let pool = try await spool.serve("record", ["--processes", "2", "--exit-when-empty"])
        #expect(try await pool.exitStatus(within: .seconds(300)) == 0, "\(pool.stderr())")
        #expect(spool.responseCount == 40)
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == 40)
        #expect(Set(runs).count == 40)
        #expect(PoolProcess(process: pool).started.count == 2)
    }

    @Test("kill -9 of a worker process under a spool: it is restarted and every task is answered once")
    func killedUnderSpool() async throws {
        let spool = try TestSpool("pool-kill")
        // Every task waits at the gate until the restart is seen, so no process can find the spool
        // empty and exit before the kill (on a loaded machine, short tasks could all be done by then).
        let gate = try Checkout.temporaryFolder("pool-kill-gate").appending(path: "gate").path
        for index in 0..<60 { try spool.submit(#"{"args": {"gate": "\#(gate)", "x": \#(index)}}"#, id: "t\(index)") }
        let process = try await spool.serve("gated", ["--processes", "2", "--exit-when-empty"])
        let pool = PoolProcess(process: process)
        try await eventually("a task waits at the gate") { FileManager.default.fileExists(atPath: gate + ".waiting") }
        let victim = try #require(pool.current[0])
        #expect(kill(victim, SIGKILL) == 0)
        try await eventually("process 0 is restarted") { pool.current[0] != victim }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(try await process.exitStatus(within: .seconds(300)) == 0, "\(process.stderr())")
        #expect(spool.responseCount == 60)
        for index in 0..<60 { #expect(spool.response("t\(index)").status == .success, "t\(index)") }
        #expect(process.stderr().contains("worker process died (signal 9, SIGKILL)"))
    }

    @Test("kill -9 of a worker process under HTTP load: the other answers meanwhile, the pool is back to 2")
    func killedUnderHTTPLoad() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        let pool = PoolProcess(process: worker.process)
        try await PoolProcess.allReady(worker, 2)
        let victim = try #require(pool.current[0])
        // Each request is answered once: by the survivor (or the replacement), or, for one the
        // killed process had taken, never (its connection closes unanswered).
        var answered = 0
        var lost = 0
        for round in 0..<10 {
            async let outcomes = concurrently(8) { _ in
                try? await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
            }
            if round == 2 { kill(victim, SIGKILL) }
            for outcome in try await outcomes {
                if let outcome {
                    #expect(outcome.status == 200, "\(outcome.body)")
                    answered += 1
                } else {
                    lost += 1
                }
            }
        }
        #expect(answered + lost == 80)
        #expect(lost <= 8)
        try await eventually("process 0 is restarted and ready") {
            guard pool.current[0] != victim else { return false }
            let pids = try await concurrently(8) { _ in
                Self.result(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#))["pid"] as? Int
            }
            return Set(pids.compactMap { $0 }).count == 2
        }
        #expect(await worker.stop() == 0)
    }

    @Test("a bundle that segfaults on one input under a spool: that input dead-letters, the rest succeed")
    func segfaultingInput() async throws {
        let spool = try TestSpool("pool-segfault")
        let ids = ["crash"] + (0..<10).map { "ok\($0)" }
        for id in ids { try spool.submit(#"{"args": {"x": "\#(id)"}}"#, id: id) }
        let process = try await spool.serve(
            "segfault-on", ["--processes", "2", "--max-attempts", "2", "--exit-when-empty"])
        #expect(try await process.exitStatus(within: .seconds(300)) == 0, "\(process.stderr())")
        #expect(spool.names(spool.layout.dead) == ["crash.json"])
        #expect(spool.response("crash").status == .failure)
        for id in ids.dropFirst() { #expect(spool.response(id).result == #"{"x": "\#(id)"}"#, "\(id)") }
        #expect(process.stderr().contains("worker process died (signal 11, SIGSEGV)"))
    }

    @Test("a crash-looping bundle: the pool is never ready, the restarts back off and the log says why")
    func crashLoop() async throws {
        let folder = try Checkout.temporaryFolder("pool-crash-loop")
        let readyFile = folder.appending(path: "ready")
        let spool = try TestSpool("pool-crash-loop")
        let process = try await spool.serve(
            "load-exits", ["--processes", "2", "--ready-file", readyFile.path])
        let pool = PoolProcess(process: process)
        try await eventually("each place died three times") {
            pool.deaths >= 6
        }
        let log = process.stderr()
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))
        #expect(log.contains("worker process died (exit status 5); restarting it in 0.5 s (1 in a row)"))
        #expect(log.contains("restarting it in 1 s (2 in a row)"))
        #expect(log.contains("restarting it in 2 s (3 in a row)"))
        process.send(SIGTERM)
        #expect(try await process.exitStatus(within: .seconds(120)) == 0, "\(process.stderr())")
    }

    @Test("SIGUSR1 reaches every worker process; a second SIGTERM kills them all at once")
    func signals() async throws {
        let spool = try TestSpool("pool-signals")
        try spool.submit(#"{"args": {"seconds": 600}}"#, id: "long")
        let folder = try Checkout.temporaryFolder("pool-signals")
        let readyFile = folder.appending(path: "ready")
        let process = try await spool.serve(
            "sleepy", ["--processes", "2", "--ready-file", readyFile.path, "--drain-timeout", "600"])
        let pool = PoolProcess(process: process)
        try await eventually("the pool is ready") { FileManager.default.fileExists(atPath: readyFile.path) }
        // The pool is ready with one process; a process handles SIGUSR1 once it runs (its
        // bundle loaded), and the other may still be starting.
        try await eventually("both processes loaded the bundle") {
            process.stderr().components(separatedBy: "bundle loaded").count - 1 == 2
        }
        process.send(SIGUSR1)
        try await eventually("both processes logged their metrics") {
            process.stderr().components(separatedBy: "metrics snapshot").count - 1 == 2
        }
        try await eventually("the long task runs") { !spool.claimedTasks.isEmpty }
        let workers = Array(pool.current.values)
        process.send(SIGTERM)
        try await eventually("the drain began") { !FileManager.default.fileExists(atPath: readyFile.path) }
        process.send(SIGTERM)
        #expect(try await process.exitStatus(within: .seconds(60)) == 128 + SIGTERM)
        for pid in workers {
            try await eventually("worker process \(pid) is gone") { kill(pid, 0) != 0 }
        }
    }

    @Test("kept-alive connections opened at once are spread over the worker processes")
    func connectionsSpread() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        let pool = PoolProcess(process: worker.process)
        try await PoolProcess.allReady(worker, 2)
        let responses = try await RawHTTP.openedAtOnce(
            worker.address, count: 8, RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 1}}"#))
        #expect(responses.allSatisfy { $0.status == 200 }, "\(responses.map(\.body))")
        let pids = Set(responses.compactMap { Self.result($0)["pid"] as? Int })
        #expect(pids == Set(pool.current.values.map(Int.init)), "answered by \(pids)")
        #expect(await worker.stop() == 0)
    }

    @Test("a test that lets go of a pool without stopping it leaves no process of it running")
    func droppedPoolIsKilled() async throws {
        var pids: [pid_t] = []
        do {
            let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
            let pool = PoolProcess(process: worker.process)
            try await eventually("both worker processes started") { pool.current.count == 2 }
            pids = [worker.process.pid] + pool.current.values
        }
        for pid in pids {
            try await eventually("process \(pid) is gone") { kill(pid, 0) != 0 }
        }
    }

    @Test("kill -9 of the supervisor alone: its worker processes end with it")
    func workersEndWithTheSupervisor() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        try await PoolProcess.allReady(worker, 2)
        let workers = children(of: worker.process.pid)
        #expect(workers.count == 2, "\(worker.process.stderr())")
        kill(worker.process.pid, SIGKILL)
        for child in workers {
            do {
                try await eventually("worker process \(child.pid) is gone") { !child.isRunning }
            } catch {
                Issue.record("\(error): \(child)")
            }
        }
    }

    @Test("--processes 1 is one process, as before: no supervisor, its own pid in the ready file")
    func single() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "1"])
        let response = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
        #expect(Self.result(response)["pid"] as? Int == Int(worker.process.pid))
        #expect(!worker.process.stderr().contains("starting a pool"))
        #expect(await worker.stop() == 0)
    }

    /// The predict's result in a `/predict` answer.
    static func result(_ response: RawHTTP.Response) -> [String: Any] {
        guard let text = response.json["result"] as? String else { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

/// Runs `work` `count` times at once and returns the results in order.
func concurrently<T: Sendable>(_ count: Int, _ work: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for index in 0..<count { group.addTask { (index, try await work(index)) } }
        var results: [(Int, T)] = []
        for try await result in group { results.append(result) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
