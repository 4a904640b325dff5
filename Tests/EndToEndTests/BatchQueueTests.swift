import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The Redis server scripts/test starts, when there is one.
private let redisURL = ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDIS"].flatMap { URL(string: $0) }

/// The TLS port of that server (`rediss://127.0.0.1:PORT/0`) and the certificates made for it.
private let redissURL = ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDISS"].flatMap { URL(string: $0) }
private let tlsFolder = ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_TLS_DIR"]

/// A JSON Lines file of `count` inputs for the `record` bundle (each run appends its x to `log`).
private func recordInputs(_ count: Int, log: URL) throws -> URL {
    try batchInput(
        "in.jsonl",
        (0..<count).map { #"{"id": "r\#($0)", "args": {"x": \#($0), "log": "\#(log.path)"}}"# }.joined(separator: "\n"))
}

/// Stops `workers` with SIGTERM and waits for them.
private func stop(_ workers: [LaunchedProcess]) async throws {
    for worker in workers {
        worker.send(SIGTERM)
        _ = try await worker.exitStatus(within: .seconds(120))
    }
}

@Suite("launch-worker batch through a queue")
struct BatchQueueTests {
    @Test("--queue spool:DIR served by two workers: one line per input, failures included")
    func spool() async throws {
        let spool = try Checkout.temporaryFolder("batch-spool").path
        let workers = try await (0..<2).asyncMap { _ in
            try LaunchedProcess(
                Checkout.executable, ["serve", try await FixtureBundles.path("function"), "--queue", "spool:\(spool)"])
        }
        let folder = try BatchFolder.make()
        var rows = (0..<40).map { #"{"id": "s\#($0)", "args": {"x": \#($0), "y": 1}}"# }
        rows[7] = #"{"id": "s7", "args": {"x": 7}}"#
        let input = try batchInput("in.jsonl", rows.joined(separator: "\n"))
        let outcome = try await launchWorker([
            "batch", "--queue", "spool:\(spool)", "--input", input.path, "--output", folder.url.path,
        ])
        try await stop(workers)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        try expectEachOnce(folder, ids: (0..<40).map { "s\($0)" })
        #expect(try folder.byStatus() == ["SUCCESS": 39, "FAILURE": 1])
        let results = try folder.results()
        #expect(results.first { $0["id"] == "s3" }?["result"] == #"{"sum": 4}"#)
        #expect(results.first { $0["id"] == "s7" }?["traceback"]?.contains("TypeError") == true)
    }

    @Test(
        "--queue redis://... served by two workers; kill -9 of the batch after it submitted, then rerun: each task run once, each id once",
        .enabled(if: redisURL != nil, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
    func redis() async throws {
        let port = try #require(redisURL?.port)
        let queue = "redis://127.0.0.1:\(port)/7?queue=batch-\(UUID().uuidString)"
        let log = try Checkout.temporaryFolder("batch-log").appending(path: "runs.log")
        let input = try recordInputs(30, log: log)
        let folder = try BatchFolder.make()
        let arguments = ["batch", "--queue", queue, "--input", input.path, "--output", folder.url.path]
        // No worker serves the queue yet, so the first batch only submits, then waits.
        let first = try LaunchedProcess(Checkout.executable, arguments)
        let submitted = folder.url.appending(path: "submitted")
        try await eventually("the batch submitted every input") {
            (try? String(contentsOf: submitted, encoding: .utf8)) == "30\n"
        }
        first.send(SIGKILL)
        _ = await first.exitStatus()
        let workers = try await (0..<2).asyncMap { _ in
            try LaunchedProcess(
                Checkout.executable, ["serve", try await FixtureBundles.path("record"), "--queue", queue])
        }
        let again = try await launchWorker(arguments)
        try await stop(workers)
        #expect(again.status == 0, "\(again.stderr)")
        try expectEachOnce(folder, ids: (0..<30).map { "r\($0)" })
        let runs = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == 30, "a task ran more than once: \(runs.sorted())")
        #expect(try folder.results().first { $0["id"] == "r5" }?["result"] == #"{"x": 5}"#)
    }

    @Test(
        "--queue rediss://... with an encrypted client key, its passphrase in --redis-ssl-password-file: batch and worker both connect, the passphrase shown nowhere",
        .enabled(
            if: redissURL != nil && tlsFolder != nil,
            "set LAUNCH_WORKER_TEST_REDISS and LAUNCH_WORKER_TEST_TLS_DIR (scripts/test does)"))
    func redisTLSPasswordFile() async throws {
        let port = try #require(redissURL?.port)
        let tls = try #require(tlsFolder)
        let secrets = try Checkout.temporaryFolder("batch-tls")
        let passphrase = secrets.appending(path: "passphrase")
        try Data("test passphrase\n".utf8).write(to: passphrase)
        let queue =
            "rediss://127.0.0.1:\(port)/7?queue=batch-\(UUID().uuidString)&ssl_ca_certs=\(tls)/ca.crt"
            + "&ssl_certfile=\(tls)/client.crt&ssl_keyfile=\(tls)/client-encrypted.key"
        let tlsOptions = ["--queue", queue, "--redis-ssl-password-file", passphrase.path]
        let worker = try LaunchedProcess(
            Checkout.executable, ["serve", try await FixtureBundles.path("function")] + tlsOptions)
        let folder = try BatchFolder.make()
        let input = try batchInput(
            "in.jsonl", (0..<5).map { #"{"id": "t\#($0)", "args": {"x": \#($0), "y": 1}}"# }.joined(separator: "\n"))
        let outcome = try await launchWorker(
            ["batch", "--input", input.path, "--output", folder.url.path] + tlsOptions)
        try await stop([worker])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try expectEachOnce(folder, ids: (0..<5).map { "t\($0)" })
        #expect(try folder.results().first { $0["id"] == "t2" }?["result"] == #"{"sum": 3}"#)
        #expect(!outcome.stderr.contains("test passphrase") && !worker.stderr().contains("test passphrase"))
    }
}

extension Range where Bound == Int {
    /// `transform` of each element, in order, awaited one after the other.
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}
