import Foundation
import TestSupport
import Testing

/// HTTP/1.1 on one connection when `POST /predict` is answered on the event loop and every other
/// request by the router: order, body limits, `Connection: close`.
@Suite("launch-worker serve --listen: one connection")
struct HTTPConnectionTests {
    @Test("pipelined /predict and router requests on one connection are answered in order")
    func mixedPipelining() async throws {
        let worker = try await HTTPWorker.start("function")
        let requests = [
            RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 1, "y": 0}}"#),
            RawHTTP.request("GET", "/healthz"),
            // Behind a request the router answers: the router answers this one too.
            RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 2, "y": 0}}"#),
            RawHTTP.request("GET", "/predict"),
            RawHTTP.request("GET", "/readyz"),
            RawHTTP.request("POST", "/predict?mode=sync", body: #"{"args": {"x": 3, "y": 0}}"#),
            RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 4, "y": 0}}"#, close: true),
        ]
        let responses = try await RawHTTP.exchange(worker.address, requests)
        #expect(responses.map(\.status) == [200, 200, 200, 404, 200, 200, 200])
        #expect(
            responses.map { $0.json["result"] as? String } == [
                #"{"sum": 1}"#, nil, #"{"sum": 2}"#, nil, nil, #"{"sum": 3}"#, #"{"sum": 4}"#,
            ])
        #expect(responses[1].json["detail"] as? String == "alive")
        #expect(responses[4].json["detail"] as? String == "ready")
        #expect(await worker.stop() == 0)
    }

    @Test("answers known at once wait behind a predict still running on the same connection")
    func immediateAnswersWaitTheirTurn() async throws {
        let worker = try await HTTPWorker.start("sleepy")
        let requests = [
            RawHTTP.request("POST", "/predict", body: #"{"args": {"seconds": 0.3}}"#),
            RawHTTP.request("POST", "/predict", body: "{}"),
            RawHTTP.request("GET", "/healthz"),
            RawHTTP.request("POST", "/predict", body: #"{"args": {"seconds": 0}}"#, close: true),
        ]
        let responses = try await RawHTTP.exchange(worker.address, requests)
        #expect(responses.map(\.status) == [200, 400, 200, 200])
        #expect(responses.map { $0.json["result"] as? String } == [#"{"slept": 0.3}"#, nil, nil, #"{"slept": 0}"#])
        #expect(await worker.stop() == 0)
    }

    @Test("a chunked /predict body over --max-body-bytes is answered 413 and the connection serves on")
    func bodyTooLargeKeepsConnection() async throws {
        let worker = try await HTTPWorker.start("function", "127.0.0.1:0", ["--max-body-bytes", "64"])
        // Chunked, so no Content-Length announces the size: the limit is met while reading.
        let large = #"{"args": {"x": 1, "y": 2}, "padding": "\#(String(repeating: "x", count: 5000))"}"#
        let chunked =
            "POST /predict HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "\(String(large.utf8.count, radix: 16))\r\n\(large)\r\n0\r\n\r\n"
        let responses = try await RawHTTP.exchange(
            worker.address,
            [chunked, RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 1, "y": 2}}"#, close: true)])
        #expect(responses.map(\.status) == [413, 200])
        #expect((responses[0].json["detail"] as? String)?.contains("--max-body-bytes") == true)
        #expect(responses[1].json["result"] as? String == #"{"sum": 3}"#)
        let samples = try PrometheusText.parse(try await worker.send("GET", "/metrics").body)
        #expect(samples[#"launch_worker_http_requests_total{code="413"}"#] == 1)
        #expect(samples[#"launch_worker_http_requests_total{code="200"}"#] == 1)
        #expect(await worker.stop() == 0)
    }

    @Test("a Content-Length over --max-body-bytes is answered 413 before the body is sent, and the connection closes")
    func declaredTooLarge() async throws {
        let worker = try await HTTPWorker.start("function", "127.0.0.1:0", ["--max-body-bytes", "1000"])
        let head = "POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        // No body follows the head: an answer can only come from the head.
        let responses = try await RawHTTP.exchange(worker.address, [head + "Content-Length: 209715200\r\n\r\n"])
        #expect(responses.map(\.status) == [413])
        #expect(responses.first?.headers["connection"] == "close")
        #expect((responses.first?.json["detail"] as? String)?.contains("--max-body-bytes") == true)
        // Pipelined behind a request the router answers, the router's /predict refuses it the same.
        let behind = try await RawHTTP.exchange(
            worker.address,
            [
                RawHTTP.request("GET", "/healthz"),
                head + "Content-Length: 209715200\r\nConnection: close\r\n\r\n",
            ])
        #expect(behind.map(\.status) == [200, 413])
        let samples = try PrometheusText.parse(try await worker.send("GET", "/metrics").body)
        #expect(samples[#"launch_worker_http_requests_total{code="413"}"#] == 2)
        #expect(await worker.stop() == 0)
    }

    @Test("Connection: close on /predict: the answer says so and nothing after it is answered")
    func connectionClose() async throws {
        let worker = try await HTTPWorker.start("function")
        let responses = try await RawHTTP.exchange(
            worker.address,
            [
                RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 5, "y": 5}}"#, close: true),
                RawHTTP.request("POST", "/predict", body: #"{"args": {"x": 6, "y": 6}}"#),
            ])
        #expect(responses.map(\.status) == [200])
        #expect(responses.first?.json["result"] as? String == #"{"sum": 10}"#)
        #expect(responses.first?.headers["connection"] == "close")
        #expect(responses.first?.headers["server"] == "launch-worker")
        #expect(responses.first?.headers["date"]?.hasSuffix(" GMT") == true)
        let samples = try PrometheusText.parse(try await worker.send("GET", "/metrics").body)
        #expect(samples[#"launch_worker_tasks_total{status="SUCCESS"}"#] == 1)
        #expect(await worker.stop() == 0)
    }
}
