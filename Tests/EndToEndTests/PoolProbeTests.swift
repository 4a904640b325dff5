import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker serve --processes while no worker process is ready")
struct PoolProbeTests {
    @Test("while every worker process loads, the supervisor answers: /healthz 200, /readyz and /predict 503")
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
        // The ready file, not a /readyz 200: a worker process answers as soon as it is ready, and
        // the supervisor stops answering when it learns so, just before it writes the ready file.
        try await eventually("the pool is ready") { FileManager.default.fileExists(atPath: readyFile.path) }
        #expect(try await RawHTTP.send(address, "GET", "/readyz").status == 200)
        let answered = try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"values": [1]}}"#)
        #expect(answered.status == 200, "\(answered.body)")
        process.send(SIGTERM)
        #expect(try await process.exitStatus(within: .seconds(120)) == 0, "\(process.stderr())")
    }
}
