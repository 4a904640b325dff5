import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes with recycling")
struct PoolRecyclingTests {
    /// Sends `count` requests, `atOnce` at a time, and returns each answer's process id; every
    /// request must be answered 200.
    private func load(_ worker: HTTPWorker, bundle: String = "whoami", count: Int, atOnce: Int) async throws -> [Int] {
        var pids: [Int] = []
        for _ in 0..<(count / atOnce) {
            let answers = try await concurrently(atOnce) { _ in
                try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
            }
            for answer in answers {
                #expect(answer.status == 200, "\(answer.body)")
                if let pid = ProcessPoolTests.result(answer)["pid"] as? Int { pids.append(pid) }
            }
        }
        return pids
    }

    @Test("--max-tasks-per-process: under HTTP load each process is replaced once ready, no request fails")
    func byTaskCount() async throws {
        let worker = try await HTTPWorker.start(
            "whoami", "127.0.0.1:0", ["--processes", "2", "--max-tasks-per-process", "20"])
        let pool = PoolProcess(process: worker.process)
        var pids = try await load(worker, count: 40, atOnce: 4)
        // The recycled process may exit before its replacement answers one of these requests
        // (the other process took them all): both are waited for.
        try await eventually("a replacement answered and the recycled process exited") {
            pids += try await load(worker, count: 8, atOnce: 4)
            return Set(pids).count > 2 && worker.process.stderr().contains("recycled worker process exited")
        }
        let log = worker.process.stderr()
        #expect(
            log.contains("recycling worker process (it ran --max-tasks-per-process 20 tasks): starting its replacement")
        )
        #expect(log.contains("the replacement is ready: draining the recycled worker process"))
        #expect(!log.contains("worker process died"))
        #expect(pool.current.count == 2)
        #expect(await worker.stop() == 0)
    }

    @Test(
        "--max-tasks-per-process under kept-alive clients sending back to back: every request answered 200, right"
    )
    func byTaskCountKeptAlive() async throws {
        let worker = try await HTTPWorker.start(
            "whoami", "127.0.0.1:0", ["--processes", "2", "--max-tasks-per-process", "20"])
        let stop = StopFlag()
        let failed = StopFlag()
        let address = worker.address
        // As wrk does: each client sends its next request the moment the previous one is answered.
        let clients = (0..<4).map { client in
            Task {
                do {
                    return try await RawHTTP.keptAlive(address) { index in
                        let body = #"{"args": {"x": \#(client * 100_000 + index)}}"#
                        return stop.isSet ? nil : RawHTTP.request("POST", "/predict", body: body)
                    }
                } catch {
                    failed.set()
                    throw error
                }
            }
        }
        try await eventually(timeout: .seconds(240), "several recycled worker processes exited, or a client failed") {
            failed.isSet || worker.process.stderr().components(separatedBy: "recycled worker process exited").count > 4
        }
        stop.set()
        var pids = Set<Int>()
        for (client, task) in clients.enumerated() {
            let responses = try await task.value
            for (index, response) in responses.enumerated() {
                #expect(response.status == 200, "client \(client), request \(index): \(response.body)")
                let result = ProcessPoolTests.result(response)
                #expect(result["x"] as? Int == client * 100_000 + index, "client \(client), request \(index)")
                if let pid = result["pid"] as? Int { pids.insert(pid) }
            }
        }
        #expect(pids.count > 4)
        #expect(!worker.process.stderr().contains("worker process died"))
        #expect(await worker.stop() == 0)
    }

    @Test("--max-tasks-per-process under a spool: every task answered once, none run twice")
    func byTaskCountOnSpool() async throws {
        let spool = try TestSpool("pool-recycle")
        let log = spool.layout.root.appending(path: "runs.log")
        var submitted = 0
        // Keeps 40 tasks waiting, so processes are recycled while tasks run: a process asks for
        // it within 0.1 s of its 10th task, and a short queue can be done before then.
        func keepQueued() throws {
            let wanted = spool.responseCount + 40
            while submitted < wanted {
                try spool.submit(#"{"args": {"x": \#(submitted), "log": "\#(log.path)"}}"#, id: "t\(submitted)")
                submitted += 1
            }
        }
        try keepQueued()
        let process = try await spool.serve("record", ["--processes", "2", "--max-tasks-per-process", "10"])
        try await eventually(timeout: .seconds(240), "two recycled worker processes exited") {
            try keepQueued()
            return process.stderr().components(separatedBy: "recycled worker process exited").count > 2
        }
        try await eventually(timeout: .seconds(120), "every task is answered") { spool.responseCount == submitted }
        process.send(SIGTERM)
        #expect(try await process.exitStatus(within: .seconds(120)) == 0, "\(process.stderr())")
        for index in 0..<submitted { #expect(spool.response("t\(index)").status == .success, "t\(index)") }
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == submitted)
        #expect(Set(runs).count == submitted)
        #expect(process.stderr().contains("recycling worker process (it ran --max-tasks-per-process 10 tasks)"))
        #expect(!process.stderr().contains("worker process died"))
    }

    @Test("--max-rss-per-process: a bundle keeping 20 MiB per call is recycled, its memory bounded, no request fails")
    func byResidentMemory() async throws {
        let worker = try await HTTPWorker.start(
            "leaky", "127.0.0.1:0", ["--processes", "2", "--max-rss-per-process", "300MiB"])
        var kept: [Int] = []
        try await eventually("a replacement took over") {
            for answer in try await concurrently(
                2,
                { _ in
                    try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
                })
            {
                #expect(answer.status == 200, "\(answer.body)")
                kept.append(ProcessPoolTests.result(answer)["kept_mib"] as? Int ?? 0)
            }
            return worker.process.stderr().contains("recycled worker process exited")
        }
        let log = worker.process.stderr()
        #expect(log.contains("is over --max-rss-per-process 300 MiB"))
        #expect(!log.contains("worker process died"))
        // A process had kept close to 300 MiB (its resident memory is that and the interpreter's
        // 60-70 MiB, and it may be recycled before another request reaches it); a fresh one,
        // keeping little, answers now.
        #expect(kept.contains { $0 >= 200 }, "\(kept)")
        try await eventually("a fresh process answers") {
            let answer = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
            #expect(answer.status == 200, "\(answer.body)")
            return (ProcessPoolTests.result(answer)["kept_mib"] as? Int ?? 1000) <= 100
        }
        #expect(await worker.stop() == 0)
    }
}

/// A flag one task sets and others read: when kept-alive clients stop, or that one failed.
private final class StopFlag: Sendable {
    private let value = Atomic(false)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func set() { value.store(true, ordering: .relaxed) }
}
