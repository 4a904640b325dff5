import BundleArchive
import Foundation
import TestSupport
import Testing

/// Bundles named by http:// URL, from a local server.
@Suite("bundles from URLs")
struct DownloadTests {
    /// The arithmetic sample packed as `arithmetic.bundle` in a folder of its own, and a server
    /// of that folder.
    private func servedArithmetic() async throws -> (bundle: URL, server: LocalHTTPServer) {
        let served = try Checkout.temporaryFolder("served-bundles")
        let bundle = served.appending(path: "arithmetic.bundle")
        let packed = try await worker(["pack", try await SampleBundles.folder("arithmetic").path, "-o", bundle.path])
        #expect(packed.status == 0, "\(packed.stderr)")
        return (bundle, try await LocalHTTPServer(serving: served))
    }

    @Test("run and inspect take http:// and file:// URLs of a .bundle; errors name the cause, not the password")
    func fromURL() async throws {
        let (bundle, server) = try await servedArithmetic()
        let url = server.base.appending(path: "arithmetic.bundle").absoluteString
        let cache = try Checkout.temporaryFolder("url-cache")

        let ran = try await worker(["run", url, "--args", #"{"x": 1, "y": 2}"#, "--cache-dir", cache.path])
        let inspected = try await worker(["inspect", url, "--cache-dir", cache.path])
        let tooLarge = try await worker([
            "run", url, "--args", "{}", "--max-download-size", "100", "--cache-dir", cache.path,
        ])
        var withPassword = try #require(URLComponents(url: server.base, resolvingAgainstBaseURL: false))
        (withPassword.user, withPassword.password) = ("user", "pass-secret")
        let missingURL = try #require(withPassword.url?.appending(path: "nope.bundle"))
        let missing = try await worker(["run", missingURL.absoluteString, "--args", "{}", "--cache-dir", cache.path])
        await server.stop()
        let refused = try await worker(["inspect", url, "--cache-dir", cache.path])

        #expect(refused.status == 2)
        #expect(refused.stderr.contains("bundle \(url): cannot be downloaded: Connection refused"), "\(refused.stderr)")
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try response(ran)["result"] == #"{"sum": 3, "product": 2}"#)
        #expect(ran.stderr.contains("downloaded"))
        #expect(ran.stderr.contains("percent=100"))
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains("name:         arithmetic"))
        #expect(tooLarge.status == 2)
        #expect(tooLarge.stderr.contains("bundle \(url): is announced as"), "\(tooLarge.stderr)")
        #expect(tooLarge.stderr.contains("over the download limit of 100 bytes"))
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("HTTP status 404"), "\(missing.stderr)")
        #expect(missing.stderr.contains("bundle http://user:***@"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("pass-secret"), "errors name a URL without its password")
        #expect(names(in: cache.appending(path: ".downloads")).isEmpty, "downloads left behind")

        let fileURL = try await worker([
            "run", bundle.absoluteString, "--args", #"{"x": 2, "y": 2}"#, "--cache-dir", cache.path,
        ])
        #expect(try response(fileURL)["result"] == #"{"sum": 4, "product": 4}"#)
    }

    @Test("a download with no announced size stops at the limit as it arrives and leaves nothing behind")
    func overTheLimitUnannounced() async throws {
        let server = try await InputServer()
        let cache = try Checkout.temporaryFolder("unannounced-cache")
        let url = server.url("/chunked/300000")
        let outcome = try await worker(["inspect", url, "--max-download-size", "100000", "--cache-dir", cache.path])
        await server.stop()

        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("bundle \(url): is over "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("over the download limit of "), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("announced"), "no size was announced: \(outcome.stderr)")
        #expect(names(in: cache.appending(path: ".downloads")).isEmpty, "downloads left behind")
    }

    @Test(
        "a download cut short, or whose server falls silent past --download-timeout, fails, says why, and leaves nothing",
        arguments: [
            // The whole 60 s for the one that ends: a loaded machine may keep its server a while.
            ("/truncated", "60", "the connection closed before the whole body arrived"),
            ("/stall-head", "0.5", "its server sent nothing for 0.5 s"),
            ("/stall", "0.5", "its server sent nothing for 0.5 s"),
        ])
    func cutShortOrSilent(path: String, timeout: String, reason: String) async throws {
        let server = try await InputServer()
        let cache = try Checkout.temporaryFolder("failed-download-cache")
        let url = server.url(path)
        let outcome = try await worker(["inspect", url, "--download-timeout", timeout, "--cache-dir", cache.path])
        await server.stop()

        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("bundle \(url): cannot be downloaded: \(reason)"), "\(outcome.stderr)")
        #expect(names(in: cache.appending(path: ".downloads")).isEmpty, "downloads left behind")
    }

    @Test(
        "a download goes through the environment's proxy (HTTP with credentials, SOCKS5) unless no_proxy names the host"
    )
    func throughProxy() async throws {
        let (_, server) = try await servedArithmetic()
        let proxy = try await ConnectProxy()
        let port = try #require(server.base.port)
        let cache = try Checkout.temporaryFolder("proxy-cache")

        // A host that resolves nowhere: the proxy, which tunnels every host to 127.0.0.1, is the
        // only way to it.
        let proxied = try await worker(
            [
                "run", "http://bundles.invalid:\(port)/arithmetic.bundle", "--args", #"{"x": 1, "y": 2}"#,
                "--cache-dir",
                cache.path,
            ],
            environment: ["http_proxy": "http://someone:pass-secret@\(proxy.address)"])
        let asked = proxy.requests
        let throughSOCKS = try await worker(
            ["inspect", "http://socks.invalid:\(port)/arithmetic.bundle", "--cache-dir", cache.path],
            environment: ["all_proxy": "socks5://\(proxy.address)"])
        let askedSOCKS = proxy.requests
        let bypassed = try await worker(
            ["inspect", server.base.appending(path: "arithmetic.bundle").absoluteString, "--cache-dir", cache.path],
            environment: ["http_proxy": proxy.address, "no_proxy": "localhost, .example.com,127.0.0.1"])
        let badProxy = try await worker(
            ["inspect", "https://bundles.invalid/arithmetic.bundle", "--cache-dir", cache.path],
            environment: ["HTTPS_PROXY": "ftp://\(proxy.address)"])
        let afterBypass = proxy.requests
        await proxy.stop()
        await server.stop()

        #expect(proxied.status == 0, "\(proxied.stderr)")
        #expect(try response(proxied)["result"] == #"{"sum": 3, "product": 2}"#)
        #expect(asked == ["CONNECT bundles.invalid:\(port) Basic c29tZW9uZTpwYXNzLXNlY3JldA=="])
        #expect(throughSOCKS.status == 0, "\(throughSOCKS.stderr)")
        #expect(askedSOCKS == asked + ["SOCKS5 socks.invalid:\(port)"])
        #expect(bypassed.status == 0, "\(bypassed.stderr)")
        #expect(afterBypass == askedSOCKS, "no_proxy lists 127.0.0.1")
        #expect(badProxy.status == 2)
        #expect(badProxy.stderr.contains("HTTPS_PROXY is not a proxy URL"), "\(badProxy.stderr)")
    }
}
