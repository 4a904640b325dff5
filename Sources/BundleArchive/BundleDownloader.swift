import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
public struct BundleDownloader: Sendable {
    /// The most bytes a download may have.
    public var maxSize: UInt64
    /// Called as data arrives: about every tenth of the announced size, or every 64 MiB.
    public var progress: @Sendable (DownloadProgress) -> Void

    /// Makes a downloader.
    public init(maxSize: UInt64, progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }) {
        self.maxSize = maxSize
        self.progress = progress
    }

    /// Downloads `url` into `file` (which must not exist), holding an exclusive `flock` on it
    /// while it arrives so `cache prune` can tell a live download from a dead one's leftovers.
    ///
    /// - Returns: the number of bytes downloaded.
    /// - Throws: ``ArchiveError`` (`download` for HTTP and network errors, `tooLarge` over the
    ///   limit); the partial file is removed.
    public func download(_ url: URL, to file: URL, bundle: String) async throws -> UInt64 {
        let output = try FileStream.creating(file.path, bundle: bundle)
        let lock = try FileLock(path: file.path)
        try lock.lockExclusive()
        let delegate = DownloadDelegate(output: output, maxSize: maxSize, bundle: bundle, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        do {
            let count = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    delegate.start(session.dataTask(with: url), continuation: continuation)
                }
            } onCancel: {
                delegate.cancel()
            }
            try output.sync()
            lock.unlock()
            return count
        } catch {
            unlink(file.path)
            throw error
        }
    }
}

/// The URLSession delegate behind ``BundleDownloader``: writes each chunk to the file as it
/// arrives and resumes the caller once, when the task completes.
private final class DownloadDelegate: NSObject, URLSessionDataDelegate, Sendable {
    private struct State {
        var received: UInt64 = 0
        var expected: UInt64?
        var nextReport: UInt64 = 0
        var failure: ArchiveError?
        var task: URLSessionDataTask?
        var continuation: CheckedContinuation<UInt64, any Error>?
    }

    private let state = Mutex(State())
    // The file is written only from the session's delegate queue, one callback at a time.
    private nonisolated(unsafe) let output: FileStream
    private let maxSize: UInt64
    private let bundle: String
    private let progress: @Sendable (DownloadProgress) -> Void

    init(output: FileStream, maxSize: UInt64, bundle: String, progress: @escaping @Sendable (DownloadProgress) -> Void)
    {
        self.output = output
        self.maxSize = maxSize
        self.bundle = bundle
        self.progress = progress
    }

    func start(_ task: URLSessionDataTask, continuation: CheckedContinuation<UInt64, any Error>) {
        state.withLock {
            $0.task = task
            $0.continuation = continuation
        }
        task.resume()
    }

    func cancel() {
        fail(ArchiveError(.download, bundle: bundle, reason: "the download was cancelled"))
    }

    private func fail(_ error: ArchiveError) {
        let task = state.withLock { state -> URLSessionDataTask? in
            if state.failure == nil { state.failure = error }
            return state.task
        }
        task?.cancel()
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            fail(
                ArchiveError(.download, bundle: bundle, reason: "cannot be downloaded: HTTP status \(http.statusCode)"))
            completionHandler(.cancel)
            return
        }
        let announced = response.expectedContentLength >= 0 ? UInt64(response.expectedContentLength) : nil
        if let announced, announced > maxSize {
            fail(tooLarge(announced, announced: true))
            completionHandler(.cancel)
            return
        }
        state.withLock { $0.expected = announced }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (received, expected, report, failed) = state.withLock { state in
            state.received += UInt64(data.count)
            let report = state.received >= state.nextReport
            if report {
                let step = state.expected.map { max($0 / 10, 1) } ?? (64 << 20)
                state.nextReport = state.received + step
            }
            return (state.received, state.expected, report, state.failure != nil)
        }
        guard !failed else { return }
        guard received <= maxSize else {
            fail(tooLarge(received, announced: false))
            return
        }
        do {
            try data.withUnsafeBytes { try output.write($0) }
        } catch let error as ArchiveError {
            fail(error)
            return
        } catch {
            fail(ArchiveError(.io, bundle: bundle, reason: "cannot write the download: \(error)"))
            return
        }
        if report { progress(DownloadProgress(received: received, expected: expected, done: false)) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (continuation, failure, received, expected) = state.withLock { state in
            let continuation = state.continuation
            state.continuation = nil
            return (continuation, state.failure, state.received, state.expected)
        }
        if let failure {
            continuation?.resume(throwing: failure)
        } else if let error {
            continuation?.resume(
                throwing: ArchiveError(
                    .download, bundle: bundle, reason: "cannot be downloaded: \(error.localizedDescription)"))
        } else if let expected, received != expected {
            continuation?.resume(
                throwing: ArchiveError(
                    .truncated, bundle: bundle,
                    reason: "download is truncated: \(received) of \(expected) bytes arrived"))
        } else {
            progress(DownloadProgress(received: received, expected: expected, done: true))
            continuation?.resume(returning: received)
        }
    }

    private func tooLarge(_ size: UInt64, announced: Bool) -> ArchiveError {
        ArchiveError(
            .tooLarge, bundle: bundle,
            reason: """
                is \(announced ? "announced as " : "over ")\(ByteCount.format(size)), over the download limit of \
                \(ByteCount.format(maxSize)) (--max-download-size)
                """)
    }
}
