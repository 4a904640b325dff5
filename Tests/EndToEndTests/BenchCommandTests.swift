import Foundation
import TestSupport
import Testing

@Suite("launch-worker bench")
struct BenchCommandTests {
    private func bench(_ bundle: String, _ arguments: [String]) async throws -> [String: Any] {
        let outcome = try await launchWorker(
            ["bench", try await FixtureBundles.path(bundle), "--json", "--warmup", "5", "--log-level", "error"]
                + arguments)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
        return try #require(object as? [String: Any], "stdout: \(outcome.stdout)")
    }

    @Test(
        "every --via drives the requested number of requests and reports throughput and latency",
        arguments: [
            "inprocess", "http", "spool",
        ])
    func via(via: String) async throws {
        let report = try await bench(
            "function", ["--args", #"{"x": 1, "y": 2}"#, "--requests", "40", "--concurrency", "2", "--via", via])
        #expect(report["via"] as? String == via)
        #expect(report["requests"] as? Int == 40)
        #expect(report["per_worker"] as? Int == 2)
        #expect((report["errors"] as? [String: Int])?.isEmpty == true)
        #expect((report["requests_per_second"] as? Double ?? 0) > 0)
        #expect((report["cold_start_ms"] as? Double ?? 0) > 0)
        #expect((report["peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
        let latency = try #require(report["latency_ms"] as? [String: Double])
        #expect(latency["p50"]! <= latency["p99"]! && latency["p99"]! <= latency["max"]!)
    }

    @Test("failed requests are counted by kind")
    func errors() async throws {
        let report = try await bench("raises", ["--args", #"{"x": 1}"#, "--requests", "10"])
        #expect(report["errors"] as? [String: Int] == ["FAILURE": 10])
        let http = try await bench("raises", ["--args", #"{"x": 1}"#, "--requests", "10", "--via", "http"])
        #expect(http["errors"] as? [String: Int] == ["HTTP 500": 10])
    }

    @Test("the table shows every figure the JSON has")
    func table() async throws {
        let outcome = try await launchWorker([
            "bench", try await FixtureBundles.path("trivial"), "--args", #"{"x": 1}"#, "--requests", "20",
            "--log-level", "error",
        ])
        #expect(outcome.status == 0)
        for label in ["cold start", "throughput", "latency", "p99", "errors", "peak RSS"] {
            #expect(outcome.stdout.contains(label), "\(label) missing from: \(outcome.stdout)")
        }
        // Not a terminal: progress comes as plain lines on stderr.
        #expect(outcome.stderr.contains("100%"))
    }

    @Test("without --log-level, bench logs warnings and errors only: no line per request")
    func quietByDefault() async throws {
        let arguments = ["bench", try await FixtureBundles.path("trivial"), "--args", #"{"x": 1}"#, "--requests", "20"]
        let quiet = try await launchWorker(arguments + ["--warmup", "5"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains(" info "), "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("task finished"))
        let chatty = try await launchWorker(arguments + ["--warmup", "0", "--log-level", "info"])
        #expect(chatty.stderr.components(separatedBy: "task finished").count - 1 == 20, "\(chatty.stderr)")
    }
}
