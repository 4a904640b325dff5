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
}
