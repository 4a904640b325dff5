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
}
