import Foundation
import Testing

@testable import Gateway

@Suite("RedisBroker")
struct RedisBrokerTests {
    @Test("a worker's --queue is the broker URL with its endpoint's queue, other parameters kept")
    func workerURL() throws {
        let tls = try RedisBroker(
            url: "rediss://broker:6380/0?ssl_cert_reqs=none", passwordFile: scratchFile(),
            keyPassphraseFile: scratchFile())
        #expect(tls.workerArguments(queue: "q") == ["--queue", "rediss://broker:6380/0?ssl_cert_reqs=none&queue=q"])
        #expect(tls.passwordFile == nil)
    }

    @Test("the password goes to workers in an owner-only file, not in their command line")
    func password() throws {
        let file = scratchFile()
        let broker = try RedisBroker(
            url: "redis://:secret@127.0.0.1:6380/3?queue=celery", passwordFile: file, keyPassphraseFile: scratchFile())
        #expect(
            broker.workerArguments(queue: "launch-endpoint-id-1") == [
                "--queue", "redis://127.0.0.1:6380/3?queue=launch-endpoint-id-1", "--redis-password-file", file.path,
            ])
        try expectOwnerOnly(file, holding: "secret")
        let user = try RedisBroker(
            url: "redis://worker:secret@broker:6379/0", passwordFile: file, keyPassphraseFile: scratchFile())
        #expect(!user.workerArguments(queue: "q").joined().contains("secret"))
        #expect(
            user.workerArguments(queue: "q").first { $0.hasPrefix("redis") } == "redis://worker@broker:6379/0?queue=q")
    }

    @Test("a password given apart from the URL (--redis-password-file) goes to workers the same way, over the URL's")
    func passwordApart() throws {
        let file = scratchFile()
        for url in ["redis://worker@broker:6379/0", "redis://worker:old@broker:6379/0"] {
            let broker = try RedisBroker(
                url: url, password: "file-secret", passwordFile: file, keyPassphraseFile: scratchFile())
            #expect(
                broker.workerArguments(queue: "q") == [
                    "--queue", "redis://worker@broker:6379/0?queue=q", "--redis-password-file", file.path,
                ])
            try expectOwnerOnly(file, holding: "file-secret")
        }
    }

    @Test(
        "a TLS client key's passphrase goes to workers in an owner-only file too",
        .enabled(
            if: ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_TLS_DIR"] != nil,
            "set LAUNCH_WORKER_TEST_TLS_DIR (scripts/test does)"))
    func keyPassphrase() throws {
        let tls = try #require(ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_TLS_DIR"])
        let files = "ssl_ca_certs=\(tls)/ca.crt&ssl_certfile=\(tls)/client.crt&ssl_keyfile=\(tls)/client-encrypted.key"
        let file = scratchFile()
        let broker = try RedisBroker(
            url: "rediss://127.0.0.1:6380/0?\(files)&ssl_password=test%20passphrase", passwordFile: scratchFile(),
            keyPassphraseFile: file)
        #expect(
            broker.workerArguments(queue: "q") == [
                "--queue", "rediss://127.0.0.1:6380/0?\(files)&queue=q", "--redis-ssl-password-file", file.path,
            ])
        try expectOwnerOnly(file, holding: "test passphrase")
        // Given apart (--redis-ssl-password-file): the encrypted key opens with it, and workers get it the same way.
        let apart = try RedisBroker(
            url: "rediss://127.0.0.1:6380/0?\(files)", keyPassphrase: "test passphrase", passwordFile: scratchFile(),
            keyPassphraseFile: file)
        #expect(apart.workerArguments(queue: "q") == broker.workerArguments(queue: "q"))
        try expectOwnerOnly(file, holding: "test passphrase")
    }

    /// Expects `file` to hold `text` and to be readable and writable by its owner only.
    private func expectOwnerOnly(_ file: URL, holding text: String) throws {
        #expect(try String(contentsOf: file, encoding: .utf8) == text)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    private func scratchFile() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "broker-password-\(UUID().uuidString)")
    }

    @Test("a URL that is not Redis's is refused")
    func refused() {
        #expect(throws: (any Error).self) {
            try RedisBroker(url: "http://127.0.0.1:6379", passwordFile: scratchFile(), keyPassphraseFile: scratchFile())
        }
    }
}
