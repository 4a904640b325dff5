import Foundation
import Testing

@testable import Gateway

@Suite("RedisBroker")
struct RedisBrokerTests {
    @Test("a worker's --queue is the broker URL with its endpoint's queue, other parameters kept")
    func workerURL() throws {
        let tls = try RedisBroker(url: "rediss://broker:6380/0?ssl_cert_reqs=none", passwordFile: scratchFile())
        #expect(tls.workerArguments(queue: "q") == ["--queue", "rediss://broker:6380/0?ssl_cert_reqs=none&queue=q"])
        #expect(tls.passwordFile == nil)
    }

    @Test("the password goes to workers in an owner-only file, not in their command line")
    func password() throws {
        let file = scratchFile()
        let broker = try RedisBroker(url: "redis://:secret@127.0.0.1:6380/3?queue=celery", passwordFile: file)
        #expect(
            broker.workerArguments(queue: "launch-endpoint-id-1") == [
                "--queue", "redis://127.0.0.1:6380/3?queue=launch-endpoint-id-1", "--redis-password-file", file.path,
            ])
        #expect(try String(contentsOf: file, encoding: .utf8) == "secret")
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let user = try RedisBroker(url: "redis://worker:secret@broker:6379/0", passwordFile: file)
        #expect(!user.workerArguments(queue: "q").joined().contains("secret"))
        #expect(
            user.workerArguments(queue: "q").first { $0.hasPrefix("redis") } == "redis://worker@broker:6379/0?queue=q")
    }

    private func scratchFile() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "broker-password-\(UUID().uuidString)")
    }

    @Test("a URL that is not Redis's is refused")
    func refused() {
        #expect(throws: (any Error).self) { try RedisBroker(url: "http://127.0.0.1:6379", passwordFile: scratchFile()) }
    }
}
