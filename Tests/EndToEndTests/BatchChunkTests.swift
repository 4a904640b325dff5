import Foundation
import TestSupport
import Testing

@Suite("launch-worker batch in chunks")
struct BatchChunkTests {
    @Test("args inputs answered in chunks write the same results.jsonl, byte for byte, as one at a time")
    func chunksAnswerAsSingleCalls() async throws {
        let values = [
            "1", "1.5", "1e16", "-0.0", "10000000000000000000000000000001", #""h\u00e9llo \u2028 \"q\" \\""#,
            #"[1, {"a": null, "b": [true, false]}]"#, #"{"\ud83d\ude00": "x", "k": 0.1}"#, "null", #""""#,
        ]
        let rows = (0..<300).map { row in #"{"id": "r\#(row)", "args": {"x": \#(values[row % values.count])}}"# }
        let input = try batchInput("values.jsonl", rows.joined(separator: "\n") + "\n")
        let bundle = try await FixtureBundles.path("trivial")
        let chunked = try BatchFolder.make()
        let single = try BatchFolder.make()
        let first = try await launchWorker(["batch", bundle, "--input", input.path, "--output", chunked.url.path])
        #expect(first.status == 0, "\(first.stderr)")
        // --task-timeout runs each input on its own, through run_request.
        let second = try await launchWorker([
            "batch", bundle, "--input", input.path, "--output", single.url.path, "--task-timeout", "120",
        ])
        #expect(second.status == 0, "\(second.stderr)")
        let chunkedText = try Data(contentsOf: chunked.url.appending(path: "results.jsonl"))
        let singleText = try Data(contentsOf: single.url.appending(path: "results.jsonl"))
        #expect(chunkedText == singleText)
        #expect(try chunked.results().count == 300)
    }
}
