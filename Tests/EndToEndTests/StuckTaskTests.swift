import Foundation
import SpoolQueue
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A predict stuck in C code (`time.sleep`, which an interrupt cannot reach): over HTTP the
/// waiting client is answered at the timeout, the other slots serve on, and SIGTERM still ends
/// the worker; on a spool, SIGTERM ends it too and the stuck task goes back to the queue.
@Suite("a predict stuck in C code")
struct StuckTaskTests {
    @Test("504 at the timeout; the free slot keeps serving and the worker stays ready; SIGTERM ends it")
    func stuckOverHTTP() async throws {
        let worker = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0",
            ["--per-worker", "2", "--task-timeout", "1", "--stuck-grace", "1", "--drain-timeout", "1"])
        let stuck = try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 600}}"#)
        #expect(stuck.status == 504, "\(stuck.body)")
        #expect(stuck.body.contains("could not be interrupted"))
        try await eventually("the task is marked stuck") { worker.process.stderr().contains("task is stuck") }
        // One slot of two is lost: the worker still serves with the other.
        #expect(try await worker.send("GET", "/readyz").status == 200)
        #expect(FileManager.default.fileExists(atPath: worker.readyFile.path))
        let quick = try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 0}}"#)
        #expect(quick.status == 200, "\(quick.body)")
        worker.process.send(SIGTERM)
        #expect(try await worker.process.exitStatus(within: .seconds(60)) == 0, "\(worker.process.stderr())")
    }

    @Test("with one slot stuck of one, the worker is not ready")
    func everySlotStuck() async throws {
        let worker = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0", ["--task-timeout", "0.5", "--stuck-grace", "0.5", "--drain-timeout", "1"])
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 600}}"#).status == 504)
        try await eventually("the worker is not ready") { try await worker.send("GET", "/readyz").status == 503 }
        #expect(!FileManager.default.fileExists(atPath: worker.readyFile.path))
        worker.process.send(SIGTERM)
        _ = try await worker.process.exitStatus(within: .seconds(60))
    }

    @Test("--exit-on-stuck: the waiting client gets its 504 before the worker exits 3")
    func exitOnStuck() async throws {
        let worker = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0", ["--task-timeout", "1", "--stuck-grace", "2", "--exit-on-stuck"])
        let answer = try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 600}}"#)
        #expect(answer.status == 504, "\(answer.body)")
        #expect(try await worker.process.exitStatus(within: .seconds(60)) == 3, "\(worker.process.stderr())")
    }

    @Test("on a spool: the free slot serves on; SIGTERM ends the worker and the stuck task returns to the queue")
    func stuckOnSpool() async throws {
        let spool = try TestSpool("stuck-term")
        try spool.submit(#"{"args": {"seconds": 600}}"#, id: "stuck")
        let worker = try await spool.serve(
            "sleepy", ["--per-worker", "2", "--task-timeout", "0.5", "--stuck-grace", "0.5", "--drain-timeout", "1"])
        try await eventually("the task is marked stuck") { worker.stderr().contains("task is stuck") }
        try spool.submit(#"{"args": {"seconds": 0}}"#, id: "quick")
        try await eventually("the free slot answered") { spool.response("quick").status == .success }
        worker.send(SIGTERM)
        #expect(try await worker.exitStatus(within: .seconds(60)) == 0, "\(worker.stderr())")
        #expect(spool.claimedTasks == ["stuck.json"])
        // The next worker takes it back, with the attempt counted.
        _ = try SpoolQueue(layout: spool.layout, configuration: .init(), logger: .init(label: "t"))
        #expect(spool.response("stuck").status == .pending)
    }
}
