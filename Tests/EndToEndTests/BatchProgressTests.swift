import Foundation
import TestSupport
import Testing

@Suite("launch-worker batch progress")
struct BatchProgressTests {
    @Test("where stderr is not a terminal: a plain line every --progress-interval, no control characters")
    func plainLines() async throws {
        let folder = try BatchFolder.make()
        let gate = try Checkout.temporaryFolder("gate").appending(path: "open")
        var text = "id,args\n"
        for row in 0..<100 {
            let gated = row == 10 ? #", ""gate"": ""\#(gate.path)"""# : ""
            text += "row-\(row),\"{\"\"x\"\": \(row)\(gated)}\"\n"
        }
        let input = try batchInput("in.csv", text)
        let batch = try LaunchedProcess(
            Checkout.executable,
            [
                "batch", try await FixtureBundles.path("gated"), "--input", input.path, "--output", folder.url.path,
                "--per-worker", "2", "--progress-interval", "0.05",
            ])
        // Row 10 is held until the gate opens, so the batch is surely running while lines come.
        try await eventually("a progress line is written") { batch.stderr().contains("/100 done (") }
        try Data().write(to: gate)
        #expect(try await batch.exitStatus(within: .seconds(120)) == 0)
        let lines = batch.stderr().split(separator: "\n").filter { $0.hasPrefix("batch: ") }
        #expect(lines.last == "batch: 100/100 done (100%), \(lines.last?.split(separator: ", ")[1] ?? ""), 0 failed")
        #expect(!batch.stderr().contains("\u{1B}"))
    }

    @Test("on a terminal: a bar redrawn in place, with done/total and failures")
    func terminalBar() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput("in.jsonl", #"{"args": {"x": 1}}"# + "\n" + #"{"args": {"y": 1}}"# + "\n")
        let command = [
            Checkout.executable.path, "batch", try await FixtureBundles.path("gated"), "--input", input.path,
            "--output", folder.url.path,
        ].joined(separator: " ")
        // script(1) runs the batch on a pseudo-terminal and copies what it shows to its stdout.
        let outcome = try await runProcess(URL(filePath: "/usr/bin/script"), ["-qefc", command, "/dev/null"])
        #expect(outcome.status == 1, "\(outcome.stdout)")
        #expect(outcome.stdout.contains("\r\u{1B}[K[#########################] 100%  2/2  "))
        #expect(outcome.stdout.contains("failures 1"))
    }
}
