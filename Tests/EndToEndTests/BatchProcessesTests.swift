import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("launch-worker batch --processes")
struct BatchProcessesTests {
    @Test("--processes 2: every id exactly once, answered by two worker processes")
    func twoProcesses() async throws {
        let folder = try BatchFolder.make()
        var text = "id,args\n"
        for row in 0..<2000 { text += "row-\(row),\"{\"\"x\"\": \(row)}\"\n" }
        let input = try batchInput("rows.csv", text)
        let outcome = try await launchWorker([
            "batch", try await FixtureBundles.path("whoami"), "--input", input.path, "--output", folder.url.path,
            "--processes", "2",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try expectEachOnce(folder, ids: (0..<2000).map { "row-\($0)" })
        let pids = try folder.results().map { line in
            let result = try #require(line["result"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
            return try #require(object["pid"] as? Int)
        }
        #expect(Set(pids).count == 2, "pids seen: \(Set(pids))")
        #expect(!Set(pids).contains(Int(getpid())))
        #expect(try folder.summary()["environment"].flatMap { ($0 as? [String: Any])?["processes"] as? String } == "2")
    }

    @Test("--processes 2 with chunks larger than a pipe holds: every result is its own input's")
    func chunksLargerThanAPipe() async throws {
        let folder = try BatchFolder.make()
        // 4 KiB inputs make chunks of up to 4 MiB, which several lanes write to one process's
        // pipe at once: their parts once interleaved, and inputs came out garbled or swapped.
        let long = String(repeating: "a", count: 4096)
        let rows = (0..<6000).map { #"{"id": "row-\#($0)", "args": {"x": "\#($0)-\#(long)"}}"# }
        let input = try batchInput("long.jsonl", rows.joined(separator: "\n") + "\n")
        let batch = try LaunchedProcess(
            Checkout.executable,
            [
                "batch", try await FixtureBundles.path("trivial"), "--input", input.path, "--output", folder.url.path,
                "--processes", "2", "--per-worker", "4",
            ])
        #expect(try await batch.exitStatus(within: .seconds(300)) == 0, "\(batch.stderr())")
        try expectEachOnce(folder, ids: (0..<6000).map { "row-\($0)" })
        let wrong = try folder.results().filter { line in
            line["result"] != "\"\(line["id"]!.dropFirst(4))-\(long)\""
        }
        #expect(wrong.isEmpty, "\(wrong.count) results are not their input's, the first: \(wrong.first ?? [:])")
    }

    @Test("a worker process that receives what is not a chunk says so and exits 1")
    func workerRefusesAMalformedChunk() async throws {
        let folder = try Checkout.temporaryFolder("batch-worker")
        // A frame of 5 bytes: too short for a chunk's id and count.
        let frames = folder.appending(path: "frames")
        try Data([5, 0, 0, 0, 1, 2, 3, 4, 5]).write(to: frames)
        let input = try batchInput("in.jsonl", #"{"args": {"x": 1}}"# + "\n")
        let worker = try LaunchedProcess(
            Checkout.executable,
            [
                "batch", try await FixtureBundles.path("trivial"), "--input", input.path, "--output",
                folder.appending(path: "out").path, "--batch-worker-index", "0",
            ],
            files: [3: frames, 4: folder.appending(path: "answers")])
        #expect(try await worker.exitStatus(within: .seconds(120)) == 1, "\(worker.stderr())")
        #expect(
            worker.stderr().contains("error: batch worker process: a chunk of 5 bytes from the batch cannot be read"),
            "\(worker.stderr())")
    }

    @Test("kill -9 of the batch alone: its worker processes end with it")
    func workersEndWithTheBatch() async throws {
        let folder = try BatchFolder.make()
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open")
        let input = try gatedCSV(count: 50, gatedRow: 0, gate: gate)
        let batch = try LaunchedProcess(
            Checkout.executable,
            [
                "batch", try await FixtureBundles.path("gated"), "--input", input.path, "--output",
                folder.url.path, "--processes", "2",
            ])
        try await eventually("the batch is past the rows not held") { folder.resultCount() >= 40 }
        let workers = children(of: batch.pid)
        #expect(workers.count == 2, "\(batch.stderr())")
        batch.send(SIGKILL)
        #expect(await batch.exitStatus() == SIGKILL)
        try await eventually("the worker processes are gone") { !workers.contains(where: \.isRunning) }
    }

    @Test("a worker process that dies stops the batch (exit 1), saying which and to rerun")
    func workerDied() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput(
            "rows.jsonl",
            (0..<20).map { #"{"args": {"x": \#($0 == 7 ? "\"crash\"" : "\($0)")}}"# }.joined(separator: "\n"))
        let arguments = [
            "batch", try await FixtureBundles.path("segfault-on"), "--input", input.path, "--output", folder.url.path,
            "--processes", "2",
        ]
        let crashed = try await launchWorker(arguments)
        #expect(crashed.status == 1, "\(crashed.stderr)")
        #expect(crashed.stderr.contains("batch worker process"), "\(crashed.stderr)")
        #expect(crashed.stderr.contains("rerun the same command to resume"))
        #expect(try folder.summary()["stopped"] as? String == "worker_error")
    }
}
