import Foundation
import InputDownload
import NIOPosix
import URLRedaction

/// Reads the location a request's `url` (or `cloudpickle`) names, as its front end's
/// ``InputPolicy`` allows: an `http(s)` URL is downloaded, a local path or `file://` URL read,
/// under the same size limit as a download.
///
/// A local file of up to ``inlineReadLimit`` bytes is read where the task runs: handing the read
/// to another thread cost more than the read (a 1 MiB input lost 17% of its throughput, the
/// bytes read on one core and used on another). A larger one is read on NIO's blocking thread
/// pool, so that a large file or a slow disk never holds one of Swift's cooperative threads for
/// long.
enum RequestInput {
    /// The largest local file read where the task runs (about a millisecond from the page cache).
    static let inlineReadLimit = 4 << 20

    /// The bytes at `location`.
    ///
    /// - Parameter deadline: when a download must have ended (the task's timeout), if ever.
    /// - Throws: ``InputError`` saying which location could not be read and why.
    static func read(
        _ location: String, policy: InputPolicy, deadline: ContinuousClock.Instant?
    ) async throws(InputError) -> [UInt8] {
        let scheme = location.firstRange(of: "://").map { location[..<$0.lowerBound].lowercased() }
        switch scheme {
        case "http"?, "https"?:
            guard let url = URL(string: location), url.host(percentEncoded: false) != nil else {
                throw InputError(location: location, reason: "is not a valid \(scheme ?? "") URL")
            }
            do {
                return try await InputDownloader(rules: policy.download).download(url, deadline: deadline)
            } catch {
                throw InputError(location: location, reason: error.reason)
            }
        case "file"?:
            guard let url = URL(string: location), url.isFileURL else {
                throw InputError(location: location, reason: "is not a valid file:// URL")
            }
            return try await readLocal(url.path, as: location, policy: policy)
        case let scheme?:
            throw InputError(
                location: location,
                reason: "uses \(scheme)://, which the worker cannot read: give an http(s) URL (a presigned one for "
                    + "object storage), or a local path or file:// URL")
        case nil:
            return try await readLocal(location, as: location, policy: policy)
        }
    }

    /// The bytes of the local file at `path`, which the request named as `location`.
    private static func readLocal(_ path: String, as location: String, policy: InputPolicy) async throws(InputError)
        -> [UInt8]
    {
        let checked: String
        switch policy.localPath(path) {
        case .success(let path): checked = path
        case .failure(let refusal): throw InputError(location: location, reason: refusal.reason)
        }
        let limit = policy.download.maxBytes
        let readFile = { @Sendable () -> Result<[UInt8], FileContents.Failure> in
            Result { () throws(FileContents.Failure) in try FileContents.read(checked, maxBytes: limit).bytes }
        }
        let read: Result<[UInt8], FileContents.Failure>
        if FileContents.regularFileSize(checked) ?? 0 <= Self.inlineReadLimit {
            read = readFile()
        } else {
            do {
                read = try await NIOThreadPool.singleton.runIfActive(readFile)
            } catch {
                throw InputError(location: location, reason: "cannot be read: the worker is stopping (\(error))")
            }
        }
        switch read {
        case .success(let bytes):
            return bytes
        case .failure(.missing):
            throw InputError(location: location, reason: "does not exist")
        case .failure(.unreadable):
            throw InputError(location: location, reason: "cannot be read")
        case .failure(.notRegular):
            throw InputError(
                location: location, reason: "is not a regular file (a folder, a named pipe or a device): it is not read"
            )
        case .failure(.tooLarge(let size)):
            throw InputError(
                location: location,
                reason: "is refused: it is \(size) bytes, over the limit of \(limit) bytes (--max-url-bytes)")
        }
    }
}

/// A request input location that could not be read.
public struct InputError: Error, Sendable, CustomStringConvertible {
    /// The request's `url` or `cloudpickle` value.
    public var location: String
    /// Why it could not be read.
    public var reason: String

    /// The location and the reason (which may quote a redirect's target), their URLs' passwords
    /// and signatures shown as `***`: the description reaches logs and tracebacks.
    public var description: String { URLSecrets.hidden(in: "the request's input \(location) \(reason)") }
}
