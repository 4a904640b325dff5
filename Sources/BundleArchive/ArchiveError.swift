import URLRedaction

/// A bundle file, download or cache operation that failed, naming the bundle and, when one
/// entry of the archive is at fault, the entry.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// Reading or writing a file failed (missing file, full disk, permissions).
        case io
        /// The bytes are not a zstd stream of a tar archive, or a header is damaged.
        case corrupt
        /// The stream ends before the archive does.
        case truncated
        /// An entry that could write outside its folder or is not a plain file: an absolute
        /// name, a `..` component, a link, a device file, a FIFO.
        case unsafeEntry
        /// The same name appears twice.
        case duplicateEntry
        /// An entry that is not part of the format, or a required entry that is missing.
        case unexpectedEntry
        /// Over a size limit: the unpacked size (a decompression bomb) or a download.
        case tooLarge
        /// An entry's SHA-256 differs from the one the archive records.
        case checksumMismatch
        /// A download failed (HTTP status, network, unsupported URL).
        case download
        /// The cache folder cannot be used.
        case cache
        /// llm-engine's container variables (`BUNDLE_URL`, ...) are missing or wrong.
        case environment
    }

    /// What kind of problem it is.
    public var code: Code
    /// The bundle as the user named it (a path or URL).
    public var bundle: String
    /// The archive entry at fault, when there is one.
    public var entry: String?
    /// What is wrong and, where there is one, the fix.
    public var reason: String

    /// Makes an error about `bundle` (and `entry`, when one entry is at fault).
    public init(_ code: Code, bundle: String, entry: String? = nil, reason: String) {
        self.code = code
        self.bundle = bundle
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        if let entry { return "bundle \(shownBundle): entry '\(entry)' \(reason)" }
        return "bundle \(shownBundle): \(reason)"
    }

    /// The bundle as the user named it, a URL's password and signature shown as `***`: errors
    /// reach logs.
    private var shownBundle: String { URLSecrets.hidden(in: bundle) }
}
