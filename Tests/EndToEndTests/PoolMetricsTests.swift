import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes /metrics")
struct PoolMetricsTests {
    @Test("/metrics labels each series with its process and shows the pool's gauges, restarts counted")
    func metrics() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--processes", "2"])
        let pool = PoolProcess(process: worker.process)
        // The ready file needs one ready process; killing the only one would leave the
        // supervisor answering 503 until its replacement is ready.
        try await PoolProcess.allReady(worker, 2)
        let victim = try #require(pool.current[1])
        kill(victim, SIGKILL)
        try await eventually("the pool is back to two ready processes, one restart counted") {
            let answer = try await worker.send("GET", "/metrics")
            guard answer.status == 200 else { return false }
            let samples = try PrometheusText.parse(answer.body)
            return samples[#"launch_worker_pool_processes{state="wanted"}"#] == 2
                && samples[#"launch_worker_pool_processes{state="alive"}"#] == 2
                && samples[#"launch_worker_pool_processes{state="ready"}"#] == 2
                && samples["launch_worker_pool_restarts_total"] == 1
        }
        for _ in 0..<4 { _ = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#) }
        // Whichever process answers, the scrape shows both processes' series, each once.
        try await eventually("a scrape shows four tasks over both processes") {
            let answer = try await worker.send("GET", "/metrics")
            let samples = try PrometheusText.parse(answer.body)
            let own = samples.keys.filter { !$0.hasPrefix("launch_worker_pool_") }
            #expect(!own.isEmpty)
            for series in own { #expect(series.contains(#"process=""#), "\(series)") }
            // A family is never declared twice; until a process has run a task and published,
            // the answering one may not know the family yet.
            let declarations = answer.body.components(separatedBy: "# TYPE launch_worker_tasks_total ").count - 1
            #expect(declarations <= 1)
            let loads = samples.keys.filter { $0.hasPrefix("launch_worker_bundle_load_seconds{process=") }
            let tasks = samples.filter { $0.key.hasPrefix("launch_worker_tasks_total{process=") }.values
            return declarations == 1 && loads.count == 2 && tasks.reduce(0, +) == 4
        }
        #expect(await worker.stop() == 0)
    }
}
