import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes on SIGHUP")
struct PoolRollingRestartTests {
    @Test("SIGHUP under HTTP load replaces every worker process, one at a time, with no failed request")
    func rollingRestart() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        let pool = PoolProcess(process: worker.process)
        let before = Set(pool.current.values)
        worker.process.send(SIGHUP)
        var answered = 0
        try await eventually("the rolling restart is done") {
            for answer in try await concurrently(
                4,
                { _ in
                    try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
                })
            {
                #expect(answer.status == 200, "\(answer.body)")
                answered += 1
            }
            #expect(FileManager.default.fileExists(atPath: worker.readyFile.path), "the pool stays ready")
            return worker.process.stderr().contains("the rolling restart is done")
        }
        let after = Set(pool.current.values)
        #expect(after.count == 2)
        #expect(after.isDisjoint(with: before))
        let log = worker.process.stderr()
        #expect(log.components(separatedBy: "recycling worker process (SIGHUP: a rolling restart)").count - 1 == 2)
        #expect(!log.contains("worker process died"))
        // One place at a time: the second replacement starts after the first old process drains.
        let firstDrained = try #require(log.range(of: "draining the recycled worker process"))
        let secondStarted = try #require(log.range(of: "recycling worker process", options: .backwards))
        #expect(firstDrained.lowerBound < secondStarted.lowerBound)
        #expect(await worker.stop() == 0)
    }

    @Test(
        "a draining worker process answers /readyz on a connection it holds for the pool: 200 while a sibling is ready")
    func readyzWhileDraining() async throws {
        let worker = try await HTTPWorker.start("gated", "127.0.0.1:0", ["--processes", "2"])
        try await PoolProcess.allReady(worker, 2)
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open").path
        let address = worker.address
        // The held predict keeps its process, and this connection, until the test opens the gate.
        let exchange = Task {
            try await RawHTTP.exchange(
                address,
                [
                    RawHTTP.request("POST", "/predict", body: #"{"args": {"gate": "\#(gate)"}}"#),
                    RawHTTP.request("GET", "/readyz", close: true),
                ])
        }
        var holder: Substring = ""
        try await eventually("a worker process runs the held request") {
            let metrics = try await worker.send("GET", "/metrics").body.split(separator: "\n")
            guard
                let line = metrics.first(where: {
                    $0.hasPrefix("launch_worker_tasks_in_flight{") && $0.hasSuffix(" 1.0")
                })
            else { return false }
            holder = line.drop { $0 != "\"" }.dropFirst().prefix { $0 != "\"" }
            return true
        }
        worker.process.send(SIGHUP)
        // The supervisor drains one process at a time; the holder's is the k-th drain, and once k
        // processes have said they drain, the holder has too.
        try await eventually("the worker process holding it drains") {
            let log = worker.process.stderr().split(separator: "\n")
            let drains = log.filter { $0.contains("draining the recycled worker process") }
            guard let k = drains.firstIndex(where: { $0.contains(" process=\(holder) ") }) else { return false }
            return log.filter { $0.contains("shutting down gracefully") }.count >= k + 1
        }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let responses = try await exchange.value
        #expect(responses.map(\.status) == [200, 200], "\(responses.map(\.body))")
        #expect(await worker.stop() == 0)
    }
}
