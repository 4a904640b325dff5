import Foundation
import Testing

@testable import RedisQueue

/// The TLS port of the server scripts/test starts (`LAUNCH_WORKER_TEST_REDISS`) and the
/// certificates scripts/test-redis made for it (`LAUNCH_WORKER_TEST_TLS_DIR`), if any.
let testTLS: TestTLS? = {
    let environment = ProcessInfo.processInfo.environment
    guard let url = environment["LAUNCH_WORKER_TEST_REDISS"], let folder = environment["LAUNCH_WORKER_TEST_TLS_DIR"]
    else { return nil }
    return TestTLS(url: url, folder: folder)
}()

/// The test server's TLS port and its certificates.
struct TestTLS: Sendable {
    var url: String
    var folder: String

    /// A file of scripts/test-redis's: `ca.crt`, `other-ca.crt`, `client.crt`, `client.key`, ...
    func file(_ name: String) -> String { "\(folder)/\(name)" }

    /// The TLS port at `host`, with `query` (by default, trusting the CA that signed the server).
    func endpoint(host: String = "127.0.0.1", _ query: String? = nil) throws -> RedisEndpoint {
        var address = try RedisAddress(url: "\(url)?\(query ?? "ssl_ca_certs=\(file("ca.crt"))")")
        address.host = host
        return try RedisEndpoint(address)
    }

    /// What a PING through `endpoint` gives: PONG, or the error.
    func ping(_ endpoint: RedisEndpoint, timeout: Duration = .seconds(30)) async -> Result<RESPValue, RedisClientError>
    {
        let client = RedisClient(endpoint: endpoint, connectTimeout: timeout)
        defer { client.close() }
        do {
            return .success(try await client.run(RedisCommand("PING")))
        } catch {
            return .failure(error)
        }
    }
}

/// TLS against a real redis-server with a throwaway CA; skipped without one.
@Suite(.enabled(if: testTLS != nil, "set LAUNCH_WORKER_TEST_REDISS and LAUNCH_WORKER_TEST_TLS_DIR (scripts/test does)"))
struct RedisTLSTests {
    let tls = testTLS!

    /// The reason of a `.tls` failure, or a description of what came instead.
    private func tlsFailure(_ result: Result<RESPValue, RedisClientError>) -> String {
        if case .failure(.tls(let reason)) = result { return reason }
        return "not a TLS failure: \(result)"
    }

    @Test func theCAThatSignedTheServerIsTrustedByHostNameAndAddress() async throws {
        #expect(try await tls.ping(tls.endpoint()).get() == .simpleString("PONG"))
        #expect(try await tls.ping(tls.endpoint(host: "localhost")).get() == .simpleString("PONG"))
    }

    @Test func anotherCAFailsNamingCertificateVerification() async throws {
        let port = try tls.endpoint().address.port
        let reason = tlsFailure(await tls.ping(try tls.endpoint("ssl_ca_certs=\(tls.file("other-ca.crt"))")))
        #expect(reason.hasPrefix("127.0.0.1:\(port): certificate verification failed (CERTIFICATE_VERIFY_FAILED)"))
        #expect(reason.contains("?ssl_ca_certs=PATH"))
        // Without ssl_ca_certs the system's CAs are trusted, and none of them signed this server.
        #expect(tlsFailure(await tls.ping(try tls.endpoint(""))).contains("CERTIFICATE_VERIFY_FAILED"))
    }

    @Test func sslCertReqsNoneConnectsToTheSelfSignedServer() async throws {
        #expect(try await tls.ping(tls.endpoint("ssl_cert_reqs=none")).get() == .simpleString("PONG"))
        #expect(try await tls.ping(tls.endpoint("ssl_cert_reqs=CERT_NONE")).get() == .simpleString("PONG"))
    }

    @Test func aHostTheCertificateDoesNotNameFailsUnlessOnlyTheChainIsChecked() async throws {
        // The server also listens on 127.0.0.2, which its certificate does not name.
        let reason = tlsFailure(await tls.ping(try tls.endpoint(host: "127.0.0.2")))
        #expect(reason.contains("127.0.0.2:"))
        #expect(reason.contains("the server's certificate does not name this host"))
        let optional = try tls.endpoint(host: "127.0.0.2", "ssl_cert_reqs=optional&ssl_ca_certs=\(tls.file("ca.crt"))")
        #expect(try await tls.ping(optional).get() == .simpleString("PONG"))
        let chainOnly = try tls.endpoint(
            host: "127.0.0.2", "ssl_check_hostname=false&ssl_ca_certs=\(tls.file("ca.crt"))")
        #expect(try await tls.ping(chainOnly).get() == .simpleString("PONG"))
        let untrusted = try tls.endpoint(
            host: "127.0.0.2", "ssl_cert_reqs=optional&ssl_ca_certs=\(tls.file("other-ca.crt"))")
        #expect(tlsFailure(await tls.ping(untrusted)).contains("CERTIFICATE_VERIFY_FAILED"))
    }

    @Test func aClientCertificateIsLoadedFromOneFileOrTwo() async throws {
        let ca = "ssl_ca_certs=\(tls.file("ca.crt"))"
        let two = try tls.endpoint("\(ca)&ssl_certfile=\(tls.file("client.crt"))&ssl_keyfile=\(tls.file("client.key"))")
        #expect(try await tls.ping(two).get() == .simpleString("PONG"))
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: FileManager.default.temporaryDirectory,
            create: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let both = folder.appending(path: "client.pem")
        let certificate = try Data(contentsOf: URL(filePath: tls.file("client.crt")))
        try (certificate + Data(contentsOf: URL(filePath: tls.file("client.key")))).write(to: both)
        #expect(try await tls.ping(tls.endpoint("\(ca)&ssl_certfile=\(both.path)")).get() == .simpleString("PONG"))
        let mismatched = "\(ca)&ssl_certfile=\(tls.file("client.crt"))&ssl_keyfile=\(tls.file("server.key"))"
        let error = #expect(throws: RedisAddressError.self) { try tls.endpoint(mismatched) }
        #expect(
            error?.description.hasPrefix(
                "ssl_keyfile=\(tls.file("server.key")) is not the key of ssl_certfile=\(tls.file("client.crt"))")
                == true,
            "\(String(describing: error))")
    }

    @Test func anEncryptedClientKeyIsDecryptedWithSSLPassword() async throws {
        let files = "ssl_ca_certs=\(tls.file("ca.crt"))&ssl_certfile=\(tls.file("client.crt"))"
        let key = tls.file("client-encrypted.key")
        let endpoint = try tls.endpoint("\(files)&ssl_keyfile=\(key)&ssl_password=test%20passphrase")
        #expect(try await tls.ping(endpoint).get() == .simpleString("PONG"))
        #expect(!endpoint.description.contains("test passphrase"))
        #expect(endpoint.description.contains("ssl_password=***"))
        for (query, problem) in [
            ("\(files)&ssl_keyfile=\(key)", "ssl_keyfile=\(key) holds an encrypted key: give its passphrase"),
            ("\(files)&ssl_keyfile=\(key)&ssl_password=wrong", "ssl_keyfile=\(key) cannot be decrypted"),
        ] {
            let error = #expect(throws: RedisAddressError.self) { try tls.endpoint(query) }
            #expect(error?.description.contains(problem) == true, "\(String(describing: error))")
        }
    }

    @Test func theWrongKindOfPortFailsClearly() async throws {
        let plain = try #require(testRedisAddress)
        var address = try tls.endpoint().address
        address.port = plain.port
        // A plain port either answers the ClientHello with an error line (not TLS) or waits for
        // the rest of a command line that never comes.
        let toPlain = await tls.ping(try RedisEndpoint(address), timeout: .seconds(1))
        #expect("\(toPlain)".contains("not speak TLS on this port"), "\(toPlain)")
        address.tls = nil
        address.port = try tls.endpoint().address.port
        let toTLS = await tls.ping(try RedisEndpoint(address))
        #expect("\(toTLS)".contains("if this is the server's TLS port, write rediss://"), "\(toTLS)")
    }
}
