import Foundation
import InputDownload
import URLRedaction

/// Reads the location a request's `url` (or `cloudpickle`) names, as its front end's
/// ``InputPolicy`` allows: an `http(s)` URL is downloaded, a local path or `file://` URL read.
enum RequestInput {
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
            return try readLocal(url.path, as: location, policy: policy)
        case let scheme?:
            throw InputError(
                location: location,
                reason: "uses \(scheme)://, which the worker cannot read: give an http(s) URL (a presigned one for "
                    + "object storage), or a local path or file:// URL")
        case nil:
            return try readLocal(location, as: location, policy: policy)
        }
    }

    /// The bytes of the local file at `path`, which the request named as `location`.
    private static func readLocal(_ path: String, as location: String, policy: InputPolicy) throws(InputError)
        -> [UInt8]
    {
        let checked: String
        switch policy.localPath(path) {
        case .success(let path): checked = path
        case .failure(let refusal): throw InputError(location: location, reason: refusal.reason)
        }
        guard let contents = FileContents.read(checked) else {
            let reason = FileManager.default.fileExists(atPath: checked) ? "cannot be read" : "does not exist"
            throw InputError(location: location, reason: reason)
        }
        return contents.bytes
    }
}

/// A request input location that could not be read.
public struct InputError: Error, Sendable, CustomStringConvertible {
    /// The request's `url` or `cloudpickle` value.
    public var location: String
    /// Why it could not be read.
    public var reason: String

    public var description: String { "the request's input \(URLPasswords.hidden(in: location)) \(reason)" }
}
