import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes with a stuck task")
struct PoolStuckTaskTests {
    @Test("over HTTP: 504, the stuck process is replaced, and the pool stays ready and serving throughout")
    func http() async throws {
        let sleepy = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0", ["--processes", "2", "--task-timeout", "1", "--stuck-grace", "1"])
        let sleepyPool = PoolProcess(process: sleepy.process)
        try await PoolProcess.allReady(sleepy, 2)
        let started = sleepyPool.started.count
        let stuck = try await sleepy.send("POST", "/predict", body: #"{"args": {"seconds": 600}}"#)
        #expect(stuck.status == 504, "\(stuck.body)")
        // The idle process takes the requests meanwhile; one the busy process took (on a loaded
        // machine, after idle siblings had their chance) may be refused 503 once it is found
        // stuck, or lose its connection when it exits. Such a request may also outlast the
        // replacement, so an answer is waited for, not expected by then.
        var answered = 0
        try await eventually("the stuck process is replaced and a request answered") {
            #expect(FileManager.default.fileExists(atPath: sleepy.readyFile.path), "the pool stays ready")
            if let answer = try? await sleepy.send("POST", "/predict", body: #"{"args": {"seconds": 0}}"#) {
                #expect(answer.status == 200 || answer.status == 503, "\(answer.body)")
                if answer.status == 200 { answered += 1 }
            }
            return sleepyPool.started.count == started + 1 && answered > 0
        }
        let after = try await sleepy.send("POST", "/predict", body: #"{"args": {"seconds": 0}}"#)
        #expect(after.status == 200, "\(after.body)")
        #expect(sleepy.process.stderr().contains("worker process died (exit status 3, as after a stuck task)"))
        #expect(await sleepy.stop() == 0)
    }

    @Test("on a spool: the stuck task is retried on a fresh process, then dead-letters; the others succeed")
    func spool() async throws {
        let spool = try TestSpool("pool-stuck")
        try spool.submit(#"{"args": {"seconds": 600}}"#, id: "stuck")
        for index in 0..<6 { try spool.submit(#"{"args": {"seconds": 0}}"#, id: "quick\(index)") }
        let process = try await spool.serve(
            "sleepy",
            [
                "--processes", "2", "--task-timeout", "0.5", "--stuck-grace", "0.5", "--max-attempts", "2",
                "--exit-when-empty",
            ])
        #expect(try await process.exitStatus(within: .seconds(300)) == 0, "\(process.stderr())")
        #expect(spool.names(spool.layout.dead) == ["stuck.json"])
        #expect(spool.response("stuck").status == .failure)
        for index in 0..<6 { #expect(spool.response("quick\(index)").status == .success) }
        #expect(process.stderr().components(separatedBy: "exit status 3, as after a stuck task").count - 1 == 2)
    }
}
