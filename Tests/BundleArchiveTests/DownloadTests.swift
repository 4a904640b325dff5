import BundleArchive
import Foundation
import TestSupport
import Testing

/// Bundles named by http:// URL, from a local server.
@Suite("bundles from URLs")
struct DownloadTests {
    @Test("run and inspect take an http:// URL of a .bundle; file:// URLs too; errors hide a URL's password")
    func fromURL() async throws {
        let served = try Checkout.temporaryFolder("served-bundles")
        let bundle = served.appending(path: "arithmetic.bundle")
        #expect(
            try await worker(["pack", try await SampleBundles.folder("arithmetic").path, "-o", bundle.path]).status == 0
        )
        let server = try await LocalHTTPServer(serving: served)
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
}
