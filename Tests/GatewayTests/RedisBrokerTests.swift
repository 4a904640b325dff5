import Foundation
import Testing

@testable import Gateway

@Suite("RedisBroker")
struct RedisBrokerTests {
    @Test("a worker's --queue is the broker URL with its endpoint's queue, other parameters kept")
    func workerURL() throws {
        let broker = try RedisBroker(url: "redis://:secret@127.0.0.1:6380/3?queue=celery")
        #expect(
            broker.workerURL(queue: "launch-endpoint-id-1")
                == "redis://:secret@127.0.0.1:6380/3?queue=launch-endpoint-id-1")
        let tls = try RedisBroker(url: "rediss://broker:6380/0?ssl_cert_reqs=none")
        #expect(tls.workerURL(queue: "q") == "rediss://broker:6380/0?ssl_cert_reqs=none&queue=q")
    }

    @Test("a URL that is not Redis's is refused")
    func refused() {
        #expect(throws: (any Error).self) { try RedisBroker(url: "http://127.0.0.1:6379") }
    }

    @Test("the message carries the request as sent, the arrival time and return_pickled, as llm-engine's")
    func message() throws {
        let envelope = CeleryTaskMessage.envelope(
            request: Array(#"{"args": {"x": 1.0}}"#.utf8), returnPickled: true, id: "t1", queue: "q",
            now: Date(timeIntervalSince1970: 0))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(envelope.utf8)) as? [String: Any])
        let headers = try #require(object["headers"] as? [String: Any])
        #expect(headers["task"] as? String == CeleryTaskMessage.taskName && headers["id"] as? String == "t1")
        let body = try #require(Data(base64Encoded: object["body"] as? String ?? ""))
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"[[{"args": {"x": 1.0}},{"__type__":"datetime","__value__":"1970-01-01T00:00:00.000Z"},true],{},"#
                + #"{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]"#)
    }
}
