import Foundation
import TestSupport
import Testing

/// Requests' url inputs through each front end of the built worker: local files only where the
/// front end's producers are local or under `--url-root`, and http URLs downloaded from a test
/// server on 127.0.0.1 (reached with `--allow-private-urls`).
@Suite("url inputs per front end")
struct URLInputTests {
    private static let helloResult =
        #"{"length": 5, "sha256": "#
        + #""2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}"#

    /// A folder holding `in.bin` ("hello").
    private func inputFolder() throws -> URL {
        let folder = try Checkout.temporaryFolder("url-root")
        try Data("hello".utf8).write(to: folder.appending(path: "in.bin"))
        return folder
    }

    @Test("over HTTP a local path or file:// URL is refused (400, naming --url-root) unless under --url-root")
    func httpLocalFiles() async throws {
        let plain = try await HTTPWorker.start("bytes-echo")
        let refused = try await plain.send("POST", "/predict", body: #"{"url": "file:///etc/passwd"}"#)
        #expect(refused.status == 400, "\(refused.body)")
        let detail = refused.json["detail"] as? String ?? ""
        #expect(detail.contains("file:///etc/passwd is refused"), "\(detail)")
        #expect(detail.contains("--url-root DIR"))
        #expect(await plain.stop() == 0)

        let root = try inputFolder()
        let rooted = try await HTTPWorker.start("bytes-echo", "127.0.0.1:0", ["--url-root", root.path])
        let inside = try await rooted.send("POST", "/predict", body: #"{"url": "\#(root.path)/in.bin"}"#)
        #expect(inside.status == 200, "\(inside.body)")
        #expect(inside.json["result"] as? String == Self.helloResult)
        let escape = try await rooted.send("POST", "/predict", body: #"{"url": "\#(root.path)/../../etc/passwd"}"#)
        #expect(escape.status == 400)
        #expect((escape.json["detail"] as? String)?.contains("is outside every --url-root") == true, "\(escape.body)")
        #expect(await rooted.stop() == 0)
    }

    @Test("over HTTP an http URL is downloaded; loopback only with --allow-private-urls")
    func httpDownload() async throws {
        let server = try await InputServer()
        let url = try server.serve(Array("hello".utf8), as: "in.bin")
        let allowed = try await HTTPWorker.start("bytes-echo", "127.0.0.1:0", ["--allow-private-urls"])
        let downloaded = try await allowed.send("POST", "/predict", body: #"{"url": "\#(url)"}"#)
        #expect(downloaded.status == 200, "\(downloaded.body)")
        #expect(downloaded.json["result"] as? String == Self.helloResult)
        let toFile = try await allowed.send(
            "POST", "/predict", body: #"{"url": "\#(server.url("/redirect?to=file:///etc/passwd"))"}"#)
        #expect(toFile.status == 400)
        #expect((toFile.json["detail"] as? String)?.contains("redirects to file:///etc/passwd") == true)
        #expect(await allowed.stop() == 0)

        let plain = try await HTTPWorker.start("bytes-echo")
        let refused = try await plain.send("POST", "/predict", body: #"{"url": "\#(url)"}"#)
        #expect(refused.status == 400)
        #expect((refused.json["detail"] as? String)?.contains("is a loopback address") == true, "\(refused.body)")
        #expect((refused.json["detail"] as? String)?.contains("--allow-private-urls") == true)
        #expect(await plain.stop() == 0)
        await server.stop()
    }

    @Test("run downloads --url http://...; over --max-url-bytes or on loopback without the flag it is a FAILURE")
    func run() async throws {
        let server = try await InputServer()
        let url = try server.serve(Array("hello".utf8), as: "in.bin")
        let bundle = try await FixtureBundles.path("bytes-echo")
        let downloaded = try await launchWorker(["run", bundle, "--url", url, "--allow-private-urls"])
        #expect(downloaded.status == 0, "\(downloaded.stderr)")
        #expect(try printedResponse(downloaded)["result"] == Self.helloResult)
        let tooLarge = try await launchWorker([
            "run", bundle, "--url", url, "--allow-private-urls", "--max-url-bytes", "3",
        ])
        #expect(tooLarge.status == 1)
        #expect(
            try printedResponse(tooLarge)["traceback"]?.contains("over the limit of 3 bytes (--max-url-bytes)") == true)
        let loopback = try await launchWorker(["run", bundle, "--url", url])
        #expect(loopback.status == 1)
        #expect(try printedResponse(loopback)["traceback"]?.contains("--allow-private-urls") == true)
        await server.stop()
    }

    @Test("the spool keeps local paths anywhere and downloads http URLs")
    func spool() async throws {
        let server = try await InputServer()
        let url = try server.serve(Array("hello".utf8), as: "in.bin")
        let root = try inputFolder()
        let spool = try TestSpool("url-inputs")
        try spool.submit(#"{"url": "\#(root.path)/in.bin"}"#, id: "local")
        try spool.submit(#"{"url": "\#(url)"}"#, id: "downloaded")
        let worker = try await spool.serve("bytes-echo", ["--exit-when-empty", "--allow-private-urls"])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        for id in ["local", "downloaded"] {
            #expect(spool.response(id).status == .success, "\(id): \(spool.response(id))")
            #expect(spool.response(id).result == Self.helloResult)
        }
        await server.stop()
    }

    @Test(
        "over Redis a local path is a FAILURE naming --url-root",
        .enabled(if: ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDIS"] != nil))
    func redis() async throws {
        let broker = try #require(
            ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDIS"].flatMap { URL(string: $0) })
        let port = String(try #require(broker.port))
        let queue = "urls-\(UUID().uuidString)"
        let id = UUID().uuidString
        let body = Data(#"[[{"url": "file:///etc/passwd"}, false], {}, {}]"#.utf8).base64EncodedString()
        let message = """
            {"body": "\(body)", "content-encoding": "utf-8", "content-type": "application/json",
             "headers": {"lang": "py", "task": "hosted_model_inference.inference.async_inference.tasks.predict",
                         "id": "\(id)", "retries": 0},
             "properties": {"correlation_id": "\(id)", "delivery_mode": 2, "priority": 0,
                            "delivery_info": {"exchange": "", "routing_key": "\(queue)"},
                            "body_encoding": "base64", "delivery_tag": "tag-\(id)"}}
            """
        let redisCLI = URL(filePath: "/usr/bin/redis-cli")
        let pushed = try await runProcess(redisCLI, ["-p", port, "-n", "8", "LPUSH", queue, message])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let worker = try LaunchedProcess(
            Checkout.executable,
            [
                "serve", try await FixtureBundles.path("bytes-echo"), "--queue",
                "redis://127.0.0.1:\(port)/8?queue=\(queue)", "--exit-when-empty",
            ])
        #expect(await worker.exitStatus() == 0, "\(worker.stderr())")
        let stored = try await runProcess(redisCLI, ["-p", port, "-n", "8", "GET", "celery-task-meta-\(id)"])
        #expect(stored.stdout.contains(#""status": "FAILURE""#), "\(stored.stdout)")
        #expect(stored.stdout.contains("file:///etc/passwd is refused"))
        #expect(stored.stdout.contains("--url-root DIR"))
        _ = try await runProcess(redisCLI, ["-p", port, "-n", "8", "DEL", "celery-task-meta-\(id)"])
    }
}
