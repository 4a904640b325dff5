import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes while no worker process is ready")
struct PoolProbeTests {
    @Test(
        "while every worker process loads, the supervisor answers: /healthz 200, /readyz and /predict 503; once one has answered, the supervisor answers nothing"
    )
    func whileLoading() async throws {
        let folder = try Checkout.temporaryFolder("pool-probes")
        let socket = folder.appending(path: "pool.sock").path
        let gate = folder.appending(path: "gate")
        let readyFile = folder.appending(path: "ready")
        var environment = ProcessInfo.processInfo.environment
        environment["LAUNCH_WORKER_TEST_GATE"] = gate.path
        // Each worker process's load waits until the test makes the gate file.
        let process = try LaunchedProcess(
            Checkout.executable,
            [
                "serve", try await FixtureBundles.path("gated-load"), "--listen", "unix:\(socket)", "--processes",
                "2", "--ready-file", readyFile.path,
            ],
            environment: environment)
        try await eventually("the pool's socket exists") { FileManager.default.fileExists(atPath: socket) }
        let address = RawHTTP.Address.unix(path: socket)
        let healthz = try await RawHTTP.send(address, "GET", "/healthz")
        #expect(healthz.status == 200)
        #expect(healthz.json["detail"] as? String == "alive")
        let readyz = try await RawHTTP.send(address, "GET", "/readyz")
        #expect(readyz.status == 503)
        #expect((readyz.json["detail"] as? String)?.contains("no worker process is ready") == true, "\(readyz.body)")
        let predict = try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"values": [1]}}"#)
        #expect(predict.status == 503)
        #expect((predict.json["detail"] as? String)?.contains("no worker process is ready") == true, "\(predict.body)")
        #expect(!FileManager.default.fileExists(atPath: readyFile.path))

        try Data().write(to: gate)
        // One request after another from the gate's opening on: once a worker process has
        // answered one, the supervisor answers none (its 503 would refuse a request that a ready
        // worker process can take).
        var answeredByWorkers = 0
        var refusedAfterThat = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while answeredByWorkers < 40, ContinuousClock.now < deadline {
            let response = try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"values": [1]}}"#)
            if response.status == 200 {
                answeredByWorkers += 1
            } else if answeredByWorkers > 0 {
                refusedAfterThat += 1
            }
        }
        #expect(answeredByWorkers == 40)
        #expect(refusedAfterThat == 0)
        try await eventually("the pool is ready") { FileManager.default.fileExists(atPath: readyFile.path) }
        #expect(try await RawHTTP.send(address, "GET", "/readyz").status == 200)
        process.send(SIGTERM)
        #expect(try await process.exitStatus(within: .seconds(120)) == 0, "\(process.stderr())")
    }
}
