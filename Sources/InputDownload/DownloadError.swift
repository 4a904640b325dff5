/// A url input that could not be downloaded, with why: what the user reads after the URL.
public struct DownloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why, as the end of a sentence whose subject is the URL ("cannot be downloaded: its server
    /// answered HTTP status 404 (Not Found)").
    public var reason: String

    /// An error with `reason`.
    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
