import Foundation

/// Where a bundle argument points: a local path (a bundle folder or a `.bundle` file, also
/// given as a `file://` URL) or an `http(s)://` URL to download.
public enum BundleLocation: Sendable, Equatable {
    /// A local file or folder.
    case path(String)
    /// A URL to download.
    case remote(URL)

    /// Reads a bundle argument.
    ///
    /// - Throws: ``ArchiveError`` (`download`) for a URL scheme other than file, http and https.
    public init(_ reference: String) throws {
        guard reference.contains("://") else {
            self = .path(reference)
            return
        }
        guard let url = URL(string: reference), let scheme = url.scheme?.lowercased() else {
            throw ArchiveError(.download, bundle: reference, reason: "is not a valid URL")
        }
        switch scheme {
        case "file": self = .path(url.path(percentEncoded: false))
        case "http", "https": self = .remote(url)
        default:
            throw ArchiveError(
                .download, bundle: reference,
                reason: "has the URL scheme '\(scheme)'; use a path, file://, http:// or https://")
        }
    }
}
