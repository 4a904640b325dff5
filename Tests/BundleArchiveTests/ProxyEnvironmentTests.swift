import Foundation
import Testing

@testable import BundleArchive

/// Which proxy the environment names for a download, read as curl reads it.
@Suite("proxy variables")
struct ProxyEnvironmentTests {
    private func proxy(_ url: String, _ environment: [String: String]) throws -> ProxyEnvironment? {
        try ProxyEnvironment.proxy(for: URL(string: url)!, in: environment, bundle: "b")
    }

    @Test("each scheme has its variables; HTTP_PROXY is not one of them; all_proxy covers both")
    func variables() throws {
        let environment = ["https_proxy": "http://secure:3128", "http_proxy": "plain:8080", "HTTP_PROXY": "cgi:1"]
        #expect(try proxy("https://example.com/b.bundle", environment)?.host == "secure")
        #expect(try proxy("http://example.com/b.bundle", environment)?.host == "plain")
        #expect(try proxy("https://example.com/b", ["HTTPS_PROXY": "upper:1"])?.host == "upper")
        #expect(try proxy("http://example.com/b", ["HTTP_PROXY": "cgi:1"]) == nil)
        #expect(try proxy("http://example.com/b", ["ALL_PROXY": "everything:9"])?.host == "everything")
        #expect(try proxy("https://example.com/b", ["https_proxy": "", "all_proxy": "fallback:9"])?.host == "fallback")
        #expect(try proxy("https://example.com/b", [:]) == nil)
    }

    @Test("a proxy URL: its kind, port (1080 when none), credentials; other schemes refused by name")
    func values() throws {
        #expect(
            try proxy("https://example.com/b", ["https_proxy": "http://me:p%40ss@proxy.corp:3128"])
                == ProxyEnvironment(kind: .http, host: "proxy.corp", port: 3128, user: "me", password: "p@ss"))
        #expect(
            try proxy("https://example.com/b", ["https_proxy": "proxy.corp"])
                == ProxyEnvironment(kind: .http, host: "proxy.corp", port: 1080, user: nil, password: nil))
        #expect(try proxy("https://example.com/b", ["all_proxy": "socks5h://tor:9050"])?.kind == .socks5)
        #expect {
            try proxy("https://example.com/b", ["https_proxy": "https://proxy.corp:443"])
        } throws: { error in
            "\(error)".contains("https_proxy is not a proxy URL")
        }
    }

    @Test("no_proxy: *, a host, or a domain with or without its leading dot")
    func bypass() throws {
        let proxied = ["https_proxy": "proxy:3128"]
        func bypassed(_ host: String, _ list: String) throws -> Bool {
            var environment = proxied
            environment["no_proxy"] = list
            return try proxy("https://\(host)/b", environment) == nil
        }
        #expect(try bypassed("anything.example", "*"))
        #expect(try bypassed("bundles.example.com", "localhost, example.com"))
        #expect(try bypassed("bundles.example.com", ".example.com"))
        #expect(try bypassed("EXAMPLE.com", "example.com"))
        #expect(try !bypassed("notexample.com", "example.com"))
        #expect(try !bypassed("example.org", "example.com,,"))
        #expect(try proxy("https://internal/b", proxied.merging(["NO_PROXY": "internal"]) { $1 }) == nil)
    }
}
