import Foundation

/// The proxy the environment names for a download, read as curl reads it: `https_proxy` (or
/// `HTTPS_PROXY`) for `https://` URLs, `http_proxy` for `http://` ones (lower case only, as
/// curl: `HTTP_PROXY` can be set by a request's `Proxy` header in CGI), `all_proxy` (or
/// `ALL_PROXY`) for either, and none for a host that `no_proxy` (or `NO_PROXY`) lists.
public struct ProxyEnvironment: Sendable, Equatable {
    /// How the proxy is spoken to.
    public enum Kind: Sendable, Equatable {
        /// An HTTP proxy, asked with `CONNECT` for a tunnel to the server.
        case http
        /// A SOCKS5 proxy.
        case socks5
    }

    /// How the proxy is spoken to.
    public var kind: Kind
    /// The proxy's host.
    public var host: String
    /// The proxy's port (1080 when the variable names none, as curl).
    public var port: Int
    /// The user the variable's URL names, for an HTTP proxy's basic authentication.
    public var user: String?
    /// That user's password.
    public var password: String?

    /// The proxy for `url` in `environment`, or nil to connect directly.
    ///
    /// - Throws: ``ArchiveError`` (`download`) for a variable that is not a proxy URL this
    ///   downloader speaks (`http://HOST:PORT`, `HOST:PORT` or `socks5://HOST:PORT`), naming it.
    public static func proxy(
        for url: URL, in environment: [String: String] = ProcessInfo.processInfo.environment, bundle: String
    ) throws -> ProxyEnvironment? {
        guard let host = url.host(percentEncoded: false)?.lowercased(), !bypasses(host, environment) else {
            return nil
        }
        let names =
            url.scheme?.lowercased() == "https"
            ? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] : ["http_proxy", "all_proxy", "ALL_PROXY"]
        guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }), let value = environment[name] else {
            return nil
        }
        guard let proxy = parse(value) else {
            throw ArchiveError(
                .download, bundle: bundle,
                reason:
                    "cannot be downloaded: \(name) is not a proxy URL (http://HOST:PORT, HOST:PORT or socks5://HOST:PORT)"
            )
        }
        return proxy
    }

    /// Whether `no_proxy` lists `host`: `*`, the host itself, or a domain it is in (`example.com`
    /// and `.example.com` both cover `bundles.example.com`).
    static func bypasses(_ host: String, _ environment: [String: String]) -> Bool {
        let list = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        return list.split(separator: ",").contains { entry in
            let domain = entry.trimmingCharacters(in: .whitespaces).lowercased()
            let bare = domain.hasPrefix(".") ? String(domain.dropFirst()) : domain
            return domain == "*" || (!bare.isEmpty && (host == bare || host.hasSuffix("." + bare)))
        }
    }

    /// `http://user:password@host:port`, `host:port` or `socks5://host:port`.
    static func parse(_ value: String) -> ProxyEnvironment? {
        let text = value.contains("://") ? value : "http://" + value
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            return nil
        }
        let kind: Kind
        switch components.scheme?.lowercased() {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        default: return nil
        }
        return ProxyEnvironment(
            kind: kind, host: host, port: components.port ?? 1080, user: components.user, password: components.password)
    }
}
