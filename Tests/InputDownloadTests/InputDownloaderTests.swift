import Foundation
import InputDownload
import TestSupport
import Testing

/// Downloads from a real server on 127.0.0.1 (so `allowPrivateAddresses`, except where the
/// refusal is what is tested).
@Suite("downloading url inputs")
struct InputDownloaderTests {
    private static let loopback = DownloadRules(allowPrivateAddresses: true)

    private func download(
        _ url: String, _ rules: DownloadRules = loopback, deadline: ContinuousClock.Instant? = nil
    ) async throws(DownloadError) -> [UInt8] {
        try await InputDownloader(rules: rules).download(URL(string: url)!, deadline: deadline)
    }

    /// The reason `url` cannot be downloaded under `rules`; an issue when it can.
    private func failure(_ url: String, _ rules: DownloadRules = loopback) async -> String {
        do {
            let bytes = try await download(url, rules)
            Issue.record("\(url) downloaded \(bytes.count) bytes")
            return ""
        } catch {
            return error.reason
        }
    }

    @Test("a file is downloaded whole, directly and through a chain of redirects")
    func wholeFile() async throws {
        let server = try await InputServer()
        // 3 MB of a 251-byte pattern (prime, so it never lines up with the reads), built by whole
        // copies: a map over 3 million indices took seconds of a busy test process's threads.
        let pattern = (0..<251).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bytes = Array(repeating: pattern, count: 11_953).flatMap { $0 }
        let url = try server.serve(bytes, as: "input.bin")
        #expect(try await download(url) == bytes)
        #expect(try await download(server.url("/chain/3/input.bin")) == bytes)
        #expect(
            server.requests.suffix(5) == [
                "/chain/3/input.bin", "/chain/2/input.bin", "/chain/1/input.bin",
                "/chain/0/input.bin", "/files/input.bin",
            ])
        await server.stop()
    }

    @Test("a redirect to file:// is refused; so is one past the redirect limit")
    func badRedirects() async throws {
        let server = try await InputServer()
        let toFile = await failure(server.url("/redirect?to=file:///etc/passwd"))
        #expect(toFile.contains("redirects to file:///etc/passwd"), "\(toFile)")
        #expect(toFile.contains("only redirects to http:// and https:// URLs are followed"))
        var rules = Self.loopback
        rules.maxRedirects = 2
        let loop = await failure(server.url("/chain/5/x"), rules)
        #expect(loop.contains("redirected more than 2 times"), "\(loop)")
        await server.stop()
    }

    @Test("a body over the limit is refused, whether its size is announced or not")
    func overTheLimit() async throws {
        let server = try await InputServer()
        var rules = Self.loopback
        rules.maxBytes = 1000
        let announced = await failure(try server.serve(Array(repeating: 1, count: 2000), as: "big"), rules)
        #expect(announced.contains("announced 2000 bytes, over the limit of 1000 bytes (--max-url-bytes)"))
        let streamed = await failure(server.url("/chunked/200000"), rules)
        #expect(streamed.contains("over the limit of 1000 bytes (--max-url-bytes)"), "\(streamed)")
        #expect(try await download(server.url("/chunked/1000"), rules).count == 1000)
        await server.stop()
    }

    @Test("loopback is refused without allowPrivateAddresses, by address and by name, before any request")
    func loopbackRefused() async throws {
        let server = try await InputServer()
        let url = try server.serve([1, 2, 3], as: "in")
        let byAddress = await failure(url, DownloadRules())
        #expect(byAddress.contains("its host 127.0.0.1 is a loopback address"), "\(byAddress)")
        #expect(byAddress.contains("--allow-private-urls"))
        let byName = await failure(url.replacingOccurrences(of: "127.0.0.1", with: "localhost"), DownloadRules())
        #expect(byName.contains("its host localhost resolves to"), "\(byName)")
        #expect(byName.contains("a loopback address"))
        #expect(server.requests.isEmpty)
        await server.stop()
    }

    @Test("a server that stalls, before its head or in its body, fails after the read timeout")
    func stalls() async throws {
        let server = try await InputServer()
        var rules = Self.loopback
        rules.readTimeout = .milliseconds(300)
        for path in ["/stall", "/stall-head"] {
            let reason = await failure(server.url(path), rules)
            #expect(reason.contains("its server sent nothing for 0.3 s (--url-read-timeout)"), "\(path): \(reason)")
        }
        await server.stop()
    }

    @Test("a body cut short of its announced size fails, and says so; so does a server that hangs up")
    func truncated() async throws {
        let server = try await InputServer()
        let reason = await failure(server.url("/truncated"))
        let hungUp = await failure(server.url("/hang-up"))
        await server.stop()
        #expect(reason == "cannot be downloaded: the connection closed before the whole body arrived")
        #expect(hungUp == "cannot be downloaded: its server closed the connection before it answered")
    }

    @Test("the deadline (the task's timeout) ends a download that still receives")
    func deadline() async throws {
        let server = try await InputServer()
        do {
            let bytes = try await download(server.url("/stall"), deadline: .now + .milliseconds(300))
            Issue.record("downloaded \(bytes.count) bytes")
        } catch {
            #expect(error.reason.contains("did not finish before the task's timeout (--task-timeout)"))
        }
        await server.stop()
    }

    @Test("an HTTP error status is named")
    func errorStatus() async throws {
        let server = try await InputServer()
        let reason = await failure(server.url("/files/missing"))
        #expect(reason.contains("its server answered HTTP status 404"), "\(reason)")
        await server.stop()
    }

    @Test("a refused connection fails at once, in words, not after the connect timeout")
    func refused() async throws {
        let server = try await InputServer()
        let url = server.url("/files/x")
        await server.stop()
        var rules = Self.loopback
        // Retrying until the connect timeout would take a minute; at once is milliseconds.
        rules.connectTimeout = .seconds(60)
        let start = ContinuousClock.now
        let reason = await failure(url, rules)
        #expect(reason == "cannot be downloaded: Connection refused")
        #expect(ContinuousClock.now - start < .seconds(30))
    }
}
