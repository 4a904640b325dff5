import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Downloads a request's `http://` or `https://` url input into memory, under ``DownloadRules``:
/// streamed and counted against the size limit, with connect and read timeouts.
///
/// Redirects are followed here rather than by the client, so that every hop is checked as the
/// first one is: its scheme must be http(s) (a redirect to `file://` is refused), and without
/// `allowPrivateAddresses` its host is resolved here, every address it resolves to must be public
/// (``AddressScope``), and the connection goes to the checked address (AsyncHTTPClient's
/// `dnsOverride`, which keeps the name for TLS): a name cannot resolve to a public address for
/// the check and to a private one for the connection.
///
/// Each hop has a client of its own, shut down when the hop ends, so nothing outlives a download.
/// The I/O runs on NIO's event loops and the name lookups on its blocking thread pool; the caller
/// only awaits, holding no thread.
public struct InputDownloader: Sendable {
    /// The limits and the address rule.
    public var rules: DownloadRules

    /// A downloader under `rules`.
    public init(rules: DownloadRules) {
        self.rules = rules
    }

    /// The bytes at `url`.
    ///
    /// - Parameter deadline: when the download must have ended (the task's timeout), if ever.
    /// - Throws: ``DownloadError`` saying what went wrong, in words that follow the URL.
    public func download(_ url: URL, deadline: ContinuousClock.Instant?) async throws(DownloadError) -> [UInt8] {
        do {
            return try await Self.run(until: deadline) { try await self.follow(url) }
        } catch let error as DownloadError {
            throw error
        } catch {
            throw DownloadError(describe(error))
        }
    }

    /// What one hop came to: the data, or where it redirects.
    private enum Hop {
        case data([UInt8])
        case redirect(URL)
    }

    private func follow(_ start: URL) async throws -> [UInt8] {
        var url = start
        for _ in 0...rules.maxRedirects {
            guard let host = url.host(percentEncoded: false), !host.isEmpty else {
                throw DownloadError("is not a valid URL: it names no host")
            }
            switch try await fetch(url, host: host, connectingTo: try await checkedAddress(of: host)) {
            case .data(let bytes): return bytes
            case .redirect(let next): url = next
            }
        }
        throw DownloadError("cannot be downloaded: it was redirected more than \(rules.maxRedirects) times")
    }

    /// The address to connect to for `host`, once checked: nil when the client may resolve the
    /// name itself (private addresses are allowed) or `host` is an address (checked here).
    ///
    /// - Throws: ``DownloadError`` when the host does not resolve, or any of its addresses is not
    ///   public.
    private func checkedAddress(of host: String) async throws -> String? {
        guard !rules.allowPrivateAddresses else { return nil }
        let rule = "loopback, link-local and private addresses are reached only with --allow-private-urls"
        if AddressScope.isIPAddress(host) {
            if let kind = AddressScope.nonPublicKind(of: host) {
                throw DownloadError("is refused: its host \(host) is \(kind); \(rule)")
            }
            return nil
        }
        let addresses = try await HostResolver.addresses(of: host)
        for address in addresses {
            if let kind = AddressScope.nonPublicKind(of: address) {
                throw DownloadError("is refused: its host \(host) resolves to \(address), \(kind); \(rule)")
            }
        }
        return addresses[0]
    }

    /// One request, on a client of its own that connects to `address` when given.
    private func fetch(_ url: URL, host: String, connectingTo address: String?) async throws -> Hop {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(rules.connectTimeout), read: TimeAmount(rules.readTimeout)))
        // A refused or unreachable server is an error at once, not retries in the background
        // until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        if let address { configuration.dnsOverride = [host: address] }
        let client = HTTPClient(
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        do {
            let hop = try await fetch(url, with: client)
            try await client.shutdown()
            return hop
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func fetch(_ url: URL, with client: HTTPClient) async throws -> Hop {
        let response = try await client.execute(HTTPClientRequest(url: url.absoluteString), deadline: .distantFuture)
        let status = response.status.code
        if (300..<400).contains(status), let location = response.headers.first(name: "location") {
            return .redirect(try Self.redirectTarget(location, from: url))
        }
        guard (200..<300).contains(status) else {
            throw DownloadError(
                "cannot be downloaded: its server answered HTTP status \(status) (\(response.status.reasonPhrase))")
        }
        let announced = response.headers.first(name: "content-length").flatMap { Int($0) }
        if let announced, announced > rules.maxBytes {
            throw DownloadError(
                "is refused: its server announced \(announced) bytes, over the limit of \(rules.maxBytes) bytes (--max-url-bytes)"
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(announced ?? 0)
        for try await chunk in response.body {
            guard chunk.readableBytes <= rules.maxBytes - bytes.count else {
                throw DownloadError("is refused: it is over the limit of \(rules.maxBytes) bytes (--max-url-bytes)")
            }
            // One copy of the chunk's bytes, not a walk over them one at a time.
            chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        }
        return .data(bytes)
    }

    /// Where a redirect's `Location` leads, relative to the URL that answered it.
    ///
    /// - Throws: ``DownloadError`` for a target that is not an http(s) URL.
    private static func redirectTarget(_ location: String, from url: URL) throws -> URL {
        guard let target = URL(string: location, relativeTo: url)?.absoluteURL else {
            throw DownloadError("is refused: it redirects to \(location), which is not a URL")
        }
        guard let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw DownloadError(
                "is refused: it redirects to \(target.absoluteString); only redirects to http:// and https:// URLs "
                    + "are followed")
        }
        return target
    }

    /// Runs `work` until it ends or `deadline` passes, whichever comes first; then `work` is
    /// cancelled, which cancels its request.
    private static func run<T: Sendable>(
        until deadline: ContinuousClock.Instant?, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let deadline else { return try await work() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw DownloadError(
                    "cannot be downloaded: it did not finish before the task's timeout (--task-timeout)")
            }
            return value
        }
    }

    /// The user's words for a client error: which limit was hit, else the client's own.
    private func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .tlsHandshakeTimeout:
                return
                    "cannot be downloaded: its server was not reached within \(rules.connectTimeout.formattedSeconds) (--url-connect-timeout)"
            case .readTimeout:
                return
                    "cannot be downloaded: its server sent nothing for \(rules.readTimeout.formattedSeconds) (--url-read-timeout)"
            default:
                break
            }
        }
        return "cannot be downloaded: " + ConnectionFailure.describe(error)
    }
}
