import Foundation
import TestSupport
import Testing

@Suite("launch-worker batch")
struct BatchCommandTests {
    @Test("a CSV of args and a CSV of urls: one SUCCESS line per input, a summary, exit 0")
    func csvInputs() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput(
            "sums.csv", "id,args\na,\"{\"\"x\"\": 1, \"\"y\"\": 2}\"\n,\"{\"\"x\"\": 5, \"\"y\"\": 5}\"\n")
        let outcome = try await launchWorker([
            "batch", try await FixtureBundles.path("function"), "--input", input.path, "--output", folder.url.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(
            try folder.results() == [
                ["id": "a", "status": "SUCCESS", "result": #"{"sum": 3}"#],
                ["id": "2", "status": "SUCCESS", "result": #"{"sum": 10}"#],
            ])
        #expect(try folder.byStatus() == ["SUCCESS": 2])
        #expect(try folder.summary()["complete"] as? Bool == true)
        #expect(outcome.stderr.contains("batch complete: 2 results"))

        let file = try batchInput("data.bin", "abc")
        let urls = try batchInput("urls.csv", "url\n\(file.path)\n\(file.deletingLastPathComponent().path)/missing\n")
        let byURL = try BatchFolder.make()
        let read = try await launchWorker([
            "batch", try await FixtureBundles.path("bytes-echo"), "--input", urls.path, "--output", byURL.url.path,
        ])
        #expect(read.status == 1)
        let results = try byURL.results()
        #expect(results.count == 2)
        #expect(results.first { $0["id"] == "1" }?["result"]?.contains(#""length": 3"#) == true)
        #expect(results.first { $0["id"] == "2" }?["status"] == "FAILURE")
    }

    @Test("JSON Lines from standard input: a bundle raising on some rows and bad rows are FAILURE lines, exit 1")
    func jsonLinesWithFailures() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput(
            "in.jsonl",
            """
            {"id": "ok", "args": {"x": 1, "y": 2}}
            {"id": "raises", "args": {"x": 1}}
            not json
            {"args": {"x": 1}, "url": "/tmp/x"}

            {"id": "last", "args": {"x": 2, "y": 2}}
            """)
        let outcome = try await runProcess(
            Checkout.executable,
            ["batch", try await FixtureBundles.path("function"), "--input", "-", "--output", folder.url.path],
            stdin: input)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        let results = Dictionary(uniqueKeysWithValues: try folder.results().map { ($0["id"] ?? "", $0) })
        #expect(results.count == 5)
        #expect(results["ok"]?["result"] == #"{"sum": 3}"#)
        #expect(results["raises"]?["traceback"]?.contains("TypeError") == true)
        #expect(results["3"]?["traceback"]?.hasPrefix("bad input on line 3: the request is not valid JSON") == true)
        #expect(
            results["4"]?["traceback"] == #"bad input on line 4: the request has "args" and "url": give exactly one"#)
        #expect(results["last"]?["status"] == "SUCCESS")
        #expect(try folder.byStatus() == ["SUCCESS": 2, "FAILURE": 3])
    }

    @Test("--return-pickled stores each output under DIR/results/ and answers with its URL")
    func pickled() async throws {
        let folder = try BatchFolder.make()
        let input = try batchInput("in.jsonl", #"{"args": {"x": 20, "y": 22}}"# + "\n")
        let outcome = try await launchWorker([
            "batch", try await FixtureBundles.path("function"), "--input", input.path, "--output", folder.url.path,
            "--return-pickled",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let url = try #require(try folder.results().first?["result_url"].flatMap(URL.init(string:)))
        #expect(url.path.hasPrefix(folder.url.appending(path: "results").path))
        #expect(try await unpickledJSON(at: url.path) == #"{"sum": 42}"#)
    }

    @Test("--max-failures stops taking inputs once that many failed, with a summary that says so, exit 1")
    func maxFailures() async throws {
        let folder = try BatchFolder.make()
        let rows = (0..<50).map { #"{"args": {"x": \#($0)}}"# }.joined(separator: "\n")
        let input = try batchInput("in.jsonl", rows)
        let outcome = try await launchWorker([
            "batch", try await FixtureBundles.path("raises"), "--input", input.path, "--output", folder.url.path,
            "--max-failures", "3",
        ])
        #expect(outcome.status == 1)
        #expect(try folder.results().count == 3)
        #expect(try folder.summary()["stopped"] as? String == "max_failures")
        #expect(outcome.stderr.contains("stopped after 3 failures (--max-failures)"))
    }

    @Test("an input that cannot be read exits 2 naming the line; a missing column or file too")
    func unreadableInput() async throws {
        let bundle = try await FixtureBundles.path("bytes-echo")
        let notText = try Checkout.temporaryFolder("batch-input").appending(path: "in.csv")
        try Data("url\n/a\n".utf8 + [0xFF, 0xFE, 0x0A]).write(to: notText)
        let folder = try BatchFolder.make()
        let bad = try await launchWorker(["batch", bundle, "--input", notText.path, "--output", folder.url.path])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("error: \(notText.path): cannot read line 3: the text is not UTF-8"))
        #expect(try folder.results().count == 1)

        let noColumn = try batchInput("in.csv", "name\nx\n")
        let missing = try await launchWorker([
            "batch", bundle, "--input", noColumn.path, "--output", try BatchFolder.make().url.path,
        ])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("names neither a url nor an args column"))
        let absent = try await launchWorker([
            "batch", bundle, "--input", "/nonexistent/in.csv", "--output", try BatchFolder.make().url.path,
        ])
        #expect(absent.status == 2)
        #expect(absent.stderr.contains("/nonexistent/in.csv: cannot open it"))
    }
}
