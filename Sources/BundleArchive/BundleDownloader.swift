import AsyncHTTPClient
import Foundation
import InputDownload
import NIOCore
import NIOPosix

/// How far a download has come.
public struct DownloadProgress: Sendable {
    /// Bytes received so far.
    public var received: UInt64
    /// The size the server announced, if it did.
    public var expected: UInt64?
    /// Whether this is the last report (the download is complete).
    public var done: Bool
}

/// Downloads an `http(s)://` URL to a file, a chunk at a time, reporting progress and stopping
/// at a size limit (checked against the announced size first, then against what arrives).
///
/// It runs on AsyncHTTPClient, on NIO's shared event loops: redirects are followed (up to 10,
/// never to another scheme than http(s)), a URL's `user:password` is sent as basic
/// authentication (and not to another origin a redirect leads to), the server must answer within
/// ``silenceLimit`` (60 seconds unless told) and never fall silent for longer, and the
/// environment's proxy variables are
/// honoured (``ProxyEnvironment``). Not Foundation's `URLSession`: that links libcurl and some
/// thirty libraries behind it into every process, about 10 ms of every worker's start.
public struct BundleDownloader: Sendable {
    /// The most bytes a download may have.
    public var maxSize: UInt64
    /// Called as data arrives: about every tenth of the announced size, or every 64 MiB.
    public var progress: @Sendable (DownloadProgress) -> Void

    /// How long the server may take to accept the connection, and then to send anything.
    public var silenceLimit: Duration

    /// Makes a downloader.
    public init(
        maxSize: UInt64, silenceLimit: Duration = .seconds(60),
        progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }
    ) {
        self.maxSize = maxSize
        self.silenceLimit = silenceLimit
        self.progress = progress
    }

    /// Downloads `url` into `file` (which must not exist), holding an exclusive `flock` on it
    /// while it arrives so `cache prune` can tell a live download from a dead one's leftovers.
    ///
    /// - Returns: the number of bytes downloaded.
    /// - Throws: ``ArchiveError`` (`download` for HTTP and network errors and cancellation,
    ///   `tooLarge` over the limit, `truncated` for fewer bytes than announced); the partial file
    ///   is removed.
    public func download(_ url: URL, to file: URL, bundle: String) async throws -> UInt64 {
        let output = try FileStream.creating(file.path, bundle: bundle)
        let lock = try FileLock(path: file.path)
        try lock.lockExclusive()
        do {
            let count = try await fetch(url, into: output, bundle: bundle)
            try output.sync()
            lock.unlock()
            return count
        } catch {
            unlink(file.path)
            throw error
        }
    }

    /// One request on a client of its own, shut down when it ends, so nothing outlives it.
    private func fetch(_ url: URL, into output: FileStream, bundle: String) async throws -> UInt64 {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: .init(connect: TimeAmount(silenceLimit), read: TimeAmount(silenceLimit)))
        // A refused or unreachable server is an error at once, not a minute of retries in the
        // background before the last attempt's error.
        configuration.connectionPool.retryConnectionEstablishment = false
        if let proxy = try ProxyEnvironment.proxy(for: url, bundle: bundle) {
            switch proxy.kind {
            case .http:
                configuration.proxy = .server(
                    host: proxy.host, port: proxy.port,
                    authorization: proxy.user.map { .basic(username: $0, password: proxy.password ?? "") })
            case .socks5:
                configuration.proxy = .socksServer(host: proxy.host, port: proxy.port)
            }
        }
        let client = HTTPClient(
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        do {
            let count = try await receive(url, with: client, into: output, bundle: bundle)
            try await client.shutdown()
            return count
        } catch {
            try? await client.shutdown()
            throw Task.isCancelled
                ? ArchiveError(.download, bundle: bundle, reason: "the download was cancelled") : error
        }
    }

    private func receive(_ url: URL, with client: HTTPClient, into output: FileStream, bundle: String) async throws
        -> UInt64
    {
        var request = HTTPClientRequest(url: url.absoluteString)
        if let user = url.user(percentEncoded: false) {
            request.setBasicAuth(username: user, password: url.password(percentEncoded: false) ?? "")
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            throw failure(error, bundle: bundle)
        }
        guard (200..<300).contains(response.status.code) else {
            throw ArchiveError(
                .download, bundle: bundle, reason: "cannot be downloaded: HTTP status \(response.status.code)")
        }
        let expected = response.headers.first(name: "content-length").flatMap { UInt64($0) }
        if let expected, expected > maxSize { throw tooLarge(expected, announced: true, bundle: bundle) }
        var received: UInt64 = 0
        var nextReport: UInt64 = 0
        do {
            for try await chunk in response.body {
                received += UInt64(chunk.readableBytes)
                guard received <= maxSize else { throw tooLarge(received, announced: false, bundle: bundle) }
                try chunk.withUnsafeReadableBytes { try output.write($0) }
                if received >= nextReport {
                    nextReport = received + (expected.map { max($0 / 10, 1) } ?? (64 << 20))
                    progress(DownloadProgress(received: received, expected: expected, done: false))
                }
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw failure(error, bundle: bundle)
        }
        if let expected, received != expected {
            throw ArchiveError(
                .truncated, bundle: bundle, reason: "download is truncated: \(received) of \(expected) bytes arrived")
        }
        progress(DownloadProgress(received: received, expected: expected, done: true))
        return received
    }

    /// The user's words for a client error: which limit was hit, else the client's own.
    private func failure(_ error: any Error, bundle: String) -> ArchiveError {
        let reason: String
        switch error {
        case let error as HTTPClientError where error == .connectTimeout || error == .tlsHandshakeTimeout:
            reason = "its server was not reached within \(silenceLimit.formattedSeconds)"
        case let error as HTTPClientError where error == .readTimeout:
            reason = "its server sent nothing for \(silenceLimit.formattedSeconds)"
        default:
            reason = ConnectionFailure.describe(error)
        }
        return ArchiveError(.download, bundle: bundle, reason: "cannot be downloaded: " + reason)
    }

    private func tooLarge(_ size: UInt64, announced: Bool, bundle: String) -> ArchiveError {
        ArchiveError(
            .tooLarge, bundle: bundle,
            reason: """
                is \(announced ? "announced as " : "over ")\(ByteCount.format(size)), over the download limit of \
                \(ByteCount.format(maxSize)) (--max-download-size)
                """)
    }
}
