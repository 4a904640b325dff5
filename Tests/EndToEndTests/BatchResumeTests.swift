import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A CSV of `count` rows for the `gated` bundle, ids `row-0`..., the row `gatedRow` holding
/// until the file `gate` exists.
func gatedCSV(count: Int, gatedRow: Int, gate: URL) throws -> URL {
    var text = "id,args\n"
    for row in 0..<count {
        let args = row == gatedRow ? #"{""x"": \#(row), ""gate"": ""\#(gate.path)""}"# : #"{""x"": \#(row)}"#
        text += "row-\(row),\"\(args)\"\n"
    }
    return try batchInput("gated.csv", text)
}

/// Checks that results.jsonl holds exactly one line for each id in `ids`.
func expectEachOnce(_ folder: BatchFolder, ids: [String]) throws {
    let seen = try folder.results().compactMap { $0["id"] }
    #expect(seen.count == ids.count)
    #expect(Set(seen) == Set(ids))
    let counts = Dictionary(seen.map { ($0, 1) }, uniquingKeysWith: +)
    #expect(counts.values.allSatisfy { $0 == 1 }, "ids seen more than once: \(counts.filter { $0.value > 1 })")
}

@Suite("launch-worker batch resumes")
struct BatchResumeTests {
    @Test(
        "kill -9 mid-batch (with --processes 2, its worker processes too), then the same command: every id exactly once",
        arguments: [["--per-worker", "2"], ["--processes", "2"]])
    func killedThenResumed(_ options: [String]) async throws {
        let folder = try BatchFolder.make()
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open")
        let input = try gatedCSV(count: 600, gatedRow: 40, gate: gate)
        let arguments = [
            "batch", try await FixtureBundles.path("gated"), "--input", input.path, "--output", folder.url.path,
        ]
        let first = try LaunchedProcess(Checkout.executable, arguments + options)
        // Row 40 holds one slot until the gate opens, so the batch cannot end before the kill.
        try await eventually("the batch is well past the held row") { folder.resultCount() >= 100 }
        let workers = options.contains("--processes") ? children(of: first.pid) : []
        if options.contains("--processes") { #expect(workers.count == 2, "\(first.stderr())") }
        first.send(SIGKILL)
        for worker in workers { kill(worker.pid, SIGKILL) }
        #expect(await first.exitStatus() == SIGKILL)
        #expect(folder.resultCount() < 600)
        try Data().write(to: gate)
        let again = try await launchWorker(arguments + options)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("resuming:"))
        try expectEachOnce(folder, ids: (0..<600).map { "row-\($0)" })
        #expect(try folder.byStatus() == ["SUCCESS": 600])
        #expect(try folder.summary()["complete"] as? Bool == true)
    }

    @Test("SIGINT stops the batch (exit 130, summary says interrupted); the same command finishes it")
    func interruptedThenResumed() async throws {
        let folder = try BatchFolder.make()
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open")
        let input = try gatedCSV(count: 300, gatedRow: 20, gate: gate)
        let arguments = [
            "batch", try await FixtureBundles.path("gated"), "--input", input.path, "--output", folder.url.path,
            "--per-worker", "2",
        ]
        let first = try LaunchedProcess(Checkout.executable, arguments + ["--drain-timeout", "1"])
        try await eventually("the batch is past the held row") { folder.resultCount() >= 50 }
        first.send(SIGINT)
        #expect(try await first.exitStatus(within: .seconds(120)) == 130, "\(first.stderr())")
        #expect(try folder.summary()["stopped"] as? String == "interrupted")
        #expect(first.stderr().contains("rerun the same command to resume"))
        try Data().write(to: gate)
        let again = try await launchWorker(arguments)
        #expect(again.status == 0, "\(again.stderr)")
        try expectEachOnce(folder, ids: (0..<300).map { "row-\($0)" })
    }

    @Test("an input read ahead of the one in flight is not started after SIGINT; the rerun answers it")
    func readAheadNotStartedAfterInterrupt() async throws {
        let folder = try BatchFolder.make()
        let gates = try Checkout.temporaryFolder("gate")
        let (first, second) = (gates.appending(path: "first"), gates.appending(path: "second"))
        // One slot: the first chunk is row-0 alone, and row-1 is read while row-0 waits.
        let rows = [(0, first), (1, second)].map { row, gate in
            #"row-\#(row),"{""x"": \#(row), ""gate"": ""\#(gate.path)""}""#
        }
        let input = try batchInput("two.csv", "id,args\n" + rows.joined(separator: "\n") + "\n")
        let arguments = [
            "batch", try await FixtureBundles.path("gated"), "--input", input.path, "--output", folder.url.path,
        ]
        let run = try LaunchedProcess(Checkout.executable, arguments + ["--drain-timeout", "600"])
        try await eventually("row-0 is waiting in predict") {
            FileManager.default.fileExists(atPath: first.path + ".waiting")
        }
        run.send(SIGINT)
        try await eventually("the batch took the signal") { run.stderr().contains("shutting down gracefully") }
        try Data().write(to: first)
        #expect(try await run.exitStatus(within: .seconds(120)) == 130, "\(run.stderr())")
        #expect(!FileManager.default.fileExists(atPath: second.path + ".waiting"), "row-1 was started after SIGINT")
        #expect(try folder.results().compactMap { $0["id"] } == ["row-0"])
        try Data().write(to: second)
        let again = try await launchWorker(arguments)
        #expect(again.status == 0, "\(again.stderr)")
        try expectEachOnce(folder, ids: ["row-0", "row-1"])
    }

    @Test("a changed input or bundle is refused on resume, exit 2, unless --restart")
    func changedInputRefused() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput("in.jsonl", #"{"args": {"x": 1, "y": 2}}"# + "\n")
        let bundle = try await FixtureBundles.path("function")
        let arguments = ["batch", bundle, "--input", input.path, "--output", folder.url.path]
        #expect(try await launchWorker(arguments).status == 0)
        try Data((#"{"args": {"x": 5, "y": 5}}"# + "\n").utf8).write(to: input)
        let changed = try await launchWorker(arguments)
        #expect(changed.status == 2)
        #expect(changed.stderr.contains("the input \(input.path) changed"))
        #expect(changed.stderr.contains("--restart"))
        let otherBundle = try await launchWorker([
            "batch", try await FixtureBundles.path("trivial"), "--input", input.path, "--output", folder.url.path,
        ])
        #expect(otherBundle.status == 2)
        let restarted = try await launchWorker(arguments + ["--restart"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(try folder.results() == [["id": "1", "status": "SUCCESS", "result": #"{"sum": 10}"#]])
    }
}
