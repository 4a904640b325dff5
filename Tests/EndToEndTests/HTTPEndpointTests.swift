import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `launch-worker serve --listen` process and the address it listens on.
struct HTTPWorker {
    let process: LaunchedProcess
    let address: RawHTTP.Address
    let readyFile: URL

    /// Starts a worker on `listen` (default: loopback, a port the system picks), with `environment`
    /// (this process's when nil), and waits until its ready file names the address.
    static func start(
        _ bundle: String, _ listen: String = "127.0.0.1:0", _ arguments: [String] = [],
        environment: [String: String]? = nil
    ) async throws -> HTTPWorker {
        let folder = try Checkout.temporaryFolder("http")
        let readyFile = folder.appending(path: "ready")
        let process = try LaunchedProcess(
            Checkout.executable,
            ["serve", try await FixtureBundles.path(bundle), "--listen", listen, "--ready-file", readyFile.path]
                + arguments, environment: environment)
        try await eventually("the worker is ready (\(process.stderr()))") {
            FileManager.default.fileExists(atPath: readyFile.path)
        }
        let lines = try String(contentsOf: readyFile, encoding: .utf8).split(separator: "\n")
        let listened = try #require(lines.first { $0.hasPrefix("listen ") }).dropFirst("listen ".count)
        let address: RawHTTP.Address
        if listened.hasPrefix("unix:") {
            address = .unix(path: String(listened.dropFirst(5)))
        } else {
            address = .tcp(port: try #require(Int(listened.split(separator: ":").last ?? "")))
        }
        return HTTPWorker(process: process, address: address, readyFile: readyFile)
    }

    func send(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws
        -> RawHTTP.Response
    {
        try await RawHTTP.send(address, method, path, body: body, headers: headers)
    }

    /// Sends SIGTERM and returns the exit status; the failure message carries stderr.
    func stop() async -> Int32 {
        process.send(SIGTERM)
        let status = await process.exitStatus()
        if status != 0 { Issue.record("exit status \(status); stderr:\n\(process.stderr())") }
        return status
    }
}

@Suite("launch-worker serve --listen")
struct HTTPEndpointTests {
    @Test("POST /predict answers Launch's shape: JSON and pickled results, predict errors, bad requests")
    func predict() async throws {
        let worker = try await HTTPWorker.start("function")
        let success = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 2}}"#)
        #expect(success.status == 200)
        #expect(success.json["status"] as? String == "SUCCESS")
        #expect(success.json["result"] as? String == #"{"sum": 3}"#)

        let pickled = try await worker.send(
            "POST", "/predict", body: #"{"args": {"x": 2, "y": 2}, "return_pickled": true}"#)
        #expect(pickled.status == 200)
        let url = try #require((pickled.json["result_url"] as? String).flatMap(URL.init(string:)))
        #expect(try await unpickledJSON(at: url.path) == #"{"sum": 4}"#)

        let failed = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": "a"}}"#)
        #expect(failed.status == 500)
        let traceback = (failed.json["detail"] as? [String: Any])?["traceback"] as? String
        #expect(traceback?.contains("TypeError: unsupported operand") == true)

        let badJSON = try await worker.send("POST", "/predict", body: "{nope")
        #expect(badJSON.status == 400)
        #expect((badJSON.json["detail"] as? String)?.contains("not valid JSON") == true)
        let both = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}, "url": "/x"}"#)
        #expect(both.status == 400)
        #expect((both.json["detail"] as? String)?.contains(#""args" and "url""#) == true)
        #expect(await worker.stop() == 0)
    }

    @Test("a body over --max-body-bytes is answered 413")
    func bodyTooLarge() async throws {
        let worker = try await HTTPWorker.start("function", "127.0.0.1:0", ["--max-body-bytes", "64"])
        let large = #"{"args": {"x": 1, "y": 2}, "padding": "\#(String(repeating: "x", count: 200))"}"#
        #expect(try await worker.send("POST", "/predict", body: large).status == 413)
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 2}}"#).status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("with --fail-on-concurrency-limit a request beyond the free slots gets 429 at once")
    func concurrencyLimit() async throws {
        let worker = try await HTTPWorker.start("gated", "127.0.0.1:0", ["--fail-on-concurrency-limit"])
        let address = worker.address
        // The held request keeps the slot until the test makes its gate file, however slow the machine.
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open").path
        let held = Task {
            try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"gate": "\#(gate)"}}"#)
        }
        try await eventually("the held request holds the slot") {
            try await worker.send("GET", "/metrics").body.contains("launch_worker_tasks_in_flight 1.0")
        }
        let refused = try await worker.send("POST", "/predict", body: #"{"args": {"gate": "/"}}"#)
        #expect(refused.status == 429)
        #expect((refused.json["detail"] as? String)?.contains("slots are busy") == true)
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(try await held.value.status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("a pickled result that cannot be stored is a 500 that says so, and the worker keeps serving")
    func unwritableResult() async throws {
        let folder = try Checkout.temporaryFolder("http-blocked")
        let blocked = folder.appending(path: "blocked")
        try Data("a file, not a folder".utf8).write(to: blocked)
        let worker = try await HTTPWorker.start(
            "function", "127.0.0.1:0", ["--results-dir", blocked.appending(path: "results").path])
        let failed = try await worker.send(
            "POST", "/predict", body: #"{"args": {"x": 1, "y": 2}, "return_pickled": true}"#)
        #expect(failed.status == 500)
        let traceback = (failed.json["detail"] as? [String: Any])?["traceback"] as? String
        #expect(traceback?.contains("could not be stored") == true)
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 2}}"#).status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("a request past --task-timeout gets 504 and the worker keeps serving")
    func timeout() async throws {
        let worker = try await HTTPWorker.start("spin", "127.0.0.1:0", ["--task-timeout", "1"])
        let slow = try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 120}}"#)
        #expect(slow.status == 504)
        let traceback = (slow.json["detail"] as? [String: Any])?["traceback"] as? String
        #expect(traceback?.hasPrefix("timed out after 1 s") == true)
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 0}}"#).status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("/healthz answers while the bundle loads; /readyz only once it has loaded")
    func readiness() async throws {
        let folder = try Checkout.temporaryFolder("slow-load")
        let socket = folder.appending(path: "w.sock").path
        let gate = folder.appending(path: "gate")
        var environment = ProcessInfo.processInfo.environment
        environment["LAUNCH_WORKER_TEST_GATE"] = gate.path
        let process = try LaunchedProcess(
            Checkout.executable, ["serve", try await FixtureBundles.path("gated-load"), "--listen", "unix:\(socket)"],
            environment: environment)
        try await eventually("the socket exists") { FileManager.default.fileExists(atPath: socket) }
        let address = RawHTTP.Address.unix(path: socket)
        #expect(try await RawHTTP.send(address, "GET", "/healthz").status == 200)
        #expect(try await RawHTTP.send(address, "GET", "/readyz").status == 503)
        #expect(try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"values": [1]}}"#).status == 503)
        try Data().write(to: gate)
        try await eventually("the bundle loaded") { try await RawHTTP.send(address, "GET", "/readyz").status == 200 }
        #expect(try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"values": [1]}}"#).status == 200)
        process.send(SIGTERM)
        #expect(await process.exitStatus() == 0)
    }

    @Test(
        "the worker runs half the cores' event loops (at least one), or NIO_SINGLETON_GROUP_LOOP_COUNT's, and logs it",
        arguments: [nil, 3])
    func eventLoops(overridden: Int?) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] = overridden.map(String.init)
        let worker = try await HTTPWorker.start("function", environment: environment)
        let starting = { worker.process.stderr().split(separator: "\n").first { $0.hasSuffix(" starting") } }
        try await eventually("the worker logged its start") { starting() != nil }
        let count = try #require(
            starting()?.split(separator: " ").first { $0.hasPrefix("event_loops=") }?.dropFirst(12))
        let loops = try #require(Int(count))
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.process.pid)/task")
            .compactMap { try? String(contentsOfFile: "/proc/\(worker.process.pid)/task/\($0)/comm", encoding: .utf8) }
        #expect(threads.filter { $0.hasPrefix("NIO-SGLTN-") }.count == loops)
        if let overridden {
            #expect(loops == overridden)
        } else {
            #expect(loops >= 1 && loops <= max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
        }
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 2}}"#).status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("keep-alive and pipelined requests on one connection are answered in order")
    func pipelining() async throws {
        let worker = try await HTTPWorker.start("function")
        let requests = (1...3).map { index in
            RawHTTP.request("POST", "/predict", body: #"{"args": {"x": \#(index), "y": 0}}"#, close: index == 3)
        }
        let responses = try await RawHTTP.exchange(worker.address, requests)
        #expect(responses.map(\.status) == [200, 200, 200])
        #expect(responses.map { $0.json["result"] as? String } == [#"{"sum": 1}"#, #"{"sum": 2}"#, #"{"sum": 3}"#])
        #expect(await worker.stop() == 0)
    }

    @Test("SIGTERM: /readyz turns 503 at once, in-flight requests finish, exit 0")
    func drain() async throws {
        let worker = try await HTTPWorker.start("gated", "127.0.0.1:0", ["--per-worker", "2"])
        let address = worker.address
        // The request runs until the test makes its gate file, once the drain has begun.
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open").path
        let inFlight = Task {
            try await RawHTTP.send(address, "POST", "/predict", body: #"{"args": {"gate": "\#(gate)"}}"#)
        }
        try await eventually("the request is running") {
            try await worker.send("GET", "/metrics").body.contains("launch_worker_tasks_in_flight 1.0")
        }
        worker.process.send(SIGTERM)
        try await eventually("the ready file is gone") {
            !FileManager.default.fileExists(atPath: worker.readyFile.path)
        }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let finished = try await inFlight.value
        #expect(finished.status == 200)
        #expect(finished.json["result"] as? String == #"{"gate": true}"#)
        #expect(await worker.process.exitStatus() == 0)
    }

    @Test(
        "SIGTERM: new connections are refused; on open ones the answers in flight end with Connection: close, requests pipelined behind them get 503"
    )
    func refusedWhileDraining() async throws {
        let worker = try await HTTPWorker.start("gated", "127.0.0.1:0", ["--per-worker", "2"])
        let address = worker.address
        // The running requests wait for a gate file the test makes once the drain has begun.
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open").path
        let held = RawHTTP.request("POST", "/predict", body: #"{"args": {"gate": "\#(gate)"}}"#)
        // Two kept-alive connections, opened before the listener closes: one with a request
        // pipelined behind the running one, one with a request alone.
        let pipelined = Task {
            try await RawHTTP.exchange(
                address, [held, RawHTTP.request("POST", "/predict", body: #"{"args": {"gate": "/"}}"#)])
        }
        let alone = Task { try await RawHTTP.exchange(address, [held]) }
        try await eventually("both requests are running") {
            try await worker.send("GET", "/metrics").body.contains("launch_worker_tasks_in_flight 2.0")
        }
        worker.process.send(SIGTERM)
        try await eventually("new connections are refused") { await !RawHTTP.accepts(address) }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let responses = try await pipelined.value
        #expect(responses.map(\.status) == [200, 503])
        #expect(responses[0].headers["connection"] == nil)
        #expect(responses[1].headers["connection"] == "close")
        #expect((responses[1].json["detail"] as? String)?.contains("draining") == true)
        let answered = try await alone.value
        #expect(answered.map(\.status) == [200])
        #expect(answered.first?.headers["connection"] == "close")
        #expect(await worker.process.exitStatus() == 0)
    }

    @Test("a non-loopback address needs --allow-remote and a token; the token is then required")
    func remoteNeedsToken() async throws {
        let bundle = try await FixtureBundles.path("function")
        let refused = try await launchWorker(["serve", bundle, "--listen", "0.0.0.0:0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--allow-remote"))
        let noToken = try await launchWorker(["serve", bundle, "--listen", "0.0.0.0:0", "--allow-remote"])
        #expect(noToken.status == 2)
        #expect(noToken.stderr.contains("--auth-token-file"))

        let tokenFile = try Checkout.temporaryFolder("token").appending(path: "token")
        try "s3cret-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let worker = try await HTTPWorker.start(
            "function", "0.0.0.0:0", ["--allow-remote", "--auth-token-file", tokenFile.path])
        let body = #"{"args": {"x": 1, "y": 1}}"#
        #expect(try await worker.send("POST", "/predict", body: body).status == 401)
        #expect(
            try await worker.send("POST", "/predict", body: body, headers: ["Authorization": "Bearer wrong"]).status
                == 401)
        #expect(try await worker.send("GET", "/metrics").status == 401)
        // The scheme in any case (RFC 7235).
        for scheme in ["Bearer", "bearer", "BEARER"] {
            #expect(
                try await worker.send(
                    "POST", "/predict", body: body, headers: ["Authorization": "\(scheme) s3cret-token"]
                )
                .status == 200)
        }
        #expect(try await worker.send("GET", "/healthz").status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("--listen and --queue in one process share the slots and both answer")
    func withSpool() async throws {
        let spool = try TestSpool("with-http")
        try spool.submit(#"{"args": {"index": 0}}"#, id: "from-spool")
        // The barrier needs both calls running at once: one from the spool, one over HTTP.
        let worker = try await HTTPWorker.start(
            "barrier-2", "127.0.0.1:0", ["--queue", spool.address, "--per-worker", "2"])
        let response = try await worker.send("POST", "/predict", body: #"{"args": {"index": 1}}"#)
        #expect(response.status == 200)
        try await eventually("the spool task is answered") { spool.response("from-spool").status == .success }
        #expect(await worker.stop() == 0)
    }

    @Test(
        "a busy queue leaves room for HTTP requests: a slot claims on by itself only while none waits",
        arguments: [1, 2])
    func queueDoesNotStarveHTTP(perWorker: Int) async throws {
        let spool = try TestSpool("busy-with-http-\(perWorker)")
        // 40 s of queued work (20 s on two slots) in long tasks, so a test process kept from its
        // threads for many seconds (by the tests beside it, or by strace) still sees the request
        // answered before half of it; with short ones its own delay was counted against the worker.
        let count = 40
        for index in 0..<count { try spool.submit(#"{"args": {"seconds": 1}}"#, id: "t\(index)") }
        let worker = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0", ["--queue", spool.address, "--per-worker", "\(perWorker)"])
        try await eventually("the spool is being served") { spool.responseCount > 0 }
        let response = try await worker.send("POST", "/predict", body: #"{"args": {"seconds": 0}}"#)
        #expect(response.status == 200)
        // Answered while most of the queue still waits.
        #expect(spool.responseCount < count / 2)
        #expect(await worker.stop() == 0)
    }

    @Test("a Unix socket is created owner-only")
    func unixSocketPermissions() async throws {
        let socket = try Checkout.temporaryFolder("sock").appending(path: "w.sock").path
        let worker = try await HTTPWorker.start("function", "unix:\(socket)")
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
        #expect(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 1}}"#).status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test("/metrics parses as Prometheus text and its counters match the requests sent")
    func metrics() async throws {
        let worker = try await HTTPWorker.start("function")
        for _ in 0..<3 { _ = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": 1}}"#) }
        _ = try await worker.send("POST", "/predict", body: #"{"args": {"x": 1, "y": "a"}}"#)
        _ = try await worker.send("POST", "/predict", body: "{")
        let text = try await worker.send("GET", "/metrics").body
        let samples = try PrometheusText.parse(text)
        #expect(samples[#"launch_worker_http_requests_total{code="200"}"#] == 3)
        #expect(samples[#"launch_worker_http_requests_total{code="500"}"#] == 1)
        #expect(samples[#"launch_worker_http_requests_total{code="400"}"#] == 1)
        #expect(samples[#"launch_worker_tasks_total{status="SUCCESS"}"#] == 3)
        #expect(samples[#"launch_worker_tasks_total{status="FAILURE"}"#] == 1)
        #expect(samples["launch_worker_predict_duration_seconds_count"] == 4)
        #expect(samples["launch_worker_tasks_in_flight"] == 0)
        #expect((samples["launch_worker_bundle_load_seconds"] ?? 0) > 0)
        #expect(await worker.stop() == 0)
    }
}
