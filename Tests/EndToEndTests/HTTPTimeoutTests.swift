import Foundation
import TestSupport
import Testing

/// Clients that keep the server waiting (a head or a body that never ends, a kept-alive
/// connection left idle) are closed after `--header-timeout`, `--body-timeout` and
/// `--idle-timeout`, with a 408 where one can be written; a long predict is never cut.
@Suite("launch-worker serve --listen: timeouts")
struct HTTPTimeoutTests {
    /// `/metrics`' count of connections closed for `kind`.
    private func timeouts(_ worker: HTTPWorker, _ kind: String) async throws -> Double? {
        let samples = try PrometheusText.parse(try await worker.send("GET", "/metrics").body)
        return samples[#"launch_worker_http_timeouts_total{kind="\#(kind)"}"#]
    }

    @Test("a head sent a byte at a time is answered 408 and closed after --header-timeout")
    func slowHead() async throws {
        let worker = try await HTTPWorker.start("function", "127.0.0.1:0", ["--header-timeout", "1"])
        #expect(try await timeouts(worker, "header") == 0)
        let responses = try await RawHTTP.trickle(
            worker.address, "POST /predict HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", "a")
        #expect(responses.map(\.status) == [408])
        #expect(responses.first?.headers["connection"] == "close")
        #expect((responses.first?.json["detail"] as? String)?.contains("--header-timeout") == true)
        // A connection that never sends a byte is closed too, without an answer.
        #expect(try await RawHTTP.exchange(worker.address, []).isEmpty)
        #expect(try await timeouts(worker, "header") == 2)
        #expect(await worker.stop() == 0)
    }

    @Test("a body that stops half-way, or comes a byte at a time, is answered 408 and closed after --body-timeout")
    func slowBody() async throws {
        let worker = try await HTTPWorker.start("sleepy", "127.0.0.1:0", ["--body-timeout", "1"])
        let head = "POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        let halfWay = try await RawHTTP.exchange(worker.address, [head + "Content-Length: 100\r\n\r\n{\"args\": "])
        #expect(halfWay.map(\.status) == [408])
        #expect(halfWay.first?.headers["connection"] == "close")
        #expect((halfWay.first?.json["detail"] as? String)?.contains("--body-timeout") == true)
        let trickled = try await RawHTTP.trickle(
            worker.address, head + "Content-Length: 1000000\r\n\r\n{\"args\": {}, \"padding\": \"", "x")
        #expect(trickled.map(\.status) == [408])
        // Behind a predict that runs past --body-timeout, the body is timed only once that is answered.
        let behind = try await RawHTTP.exchange(
            worker.address,
            [
                RawHTTP.request("POST", "/predict", body: #"{"args": {"seconds": 2}}"#),
                head + "Content-Length: 100\r\n\r\n{",
            ])
        #expect(behind.map(\.status) == [200, 408])
        #expect(try await timeouts(worker, "body") == 3)
        #expect(await worker.stop() == 0)
    }

    @Test("a kept-alive connection is closed after --idle-timeout, and a predict running longer is not cut")
    func idle() async throws {
        let worker = try await HTTPWorker.start(
            "sleepy", "127.0.0.1:0", ["--header-timeout", "1", "--body-timeout", "1", "--idle-timeout", "1"])
        // Kept alive: the exchange ends when the server closes the connection.
        let responses = try await RawHTTP.exchange(
            worker.address, [RawHTTP.request("POST", "/predict", body: #"{"args": {"seconds": 2}}"#)])
        #expect(responses.map(\.status) == [200])
        #expect(responses.first?.json["result"] as? String == #"{"slept": 2}"#)
        #expect(try await timeouts(worker, "idle") == 1)
        #expect(try await timeouts(worker, "header") == 0)
        #expect(try await timeouts(worker, "body") == 0)
        #expect(await worker.stop() == 0)
    }

    @Test("the timeouts must be positive")
    func validation() async throws {
        let bundle = try await FixtureBundles.path("function")
        let refused = try await launchWorker(["serve", bundle, "--listen", "0", "--idle-timeout", "0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--idle-timeout must be positive"))
    }
}
