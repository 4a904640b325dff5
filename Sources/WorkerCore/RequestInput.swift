import Foundation

/// Reads the file a request's `url` (or `cloudpickle`) names.
enum RequestInput {
    /// The bytes at `location`: a local path or a `file://` URL.
    ///
    /// - Throws: ``InputError`` saying which location could not be read and why.
    static func read(_ location: String) throws(InputError) -> [UInt8] {
        let path: String
        if location.hasPrefix("file://") {
            guard let url = URL(string: location), url.isFileURL else {
                throw InputError(location: location, reason: "is not a valid file:// URL")
            }
            path = url.path
        } else if let scheme = location.firstRange(of: "://").map({ location[..<$0.lowerBound] }) {
            throw InputError(
                location: location, reason: "uses \(scheme)://; only local paths and file:// URLs can be read")
        } else {
            path = location
        }
        guard let contents = FileContents.read(path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
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

    public var description: String { "the request's input \(location) \(reason)" }
}
