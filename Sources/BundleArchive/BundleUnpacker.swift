import Foundation
import LaunchBundle

/// Unpacks a `.bundle` file into a folder, checking every entry before writing it.
public enum BundleUnpacker {
    /// Unpacks `file` into `folder` (an existing empty folder) and checks the result is a
    /// bundle (`bundle.json` parses).
    ///
    /// Files are created with `O_EXCL | O_NOFOLLOW`, so nothing is ever written through a link
    /// or over another entry. On an error, what was written stays in `folder` for the caller to
    /// remove (the cache unpacks into a temporary folder and deletes it).
    ///
    /// - Throws: ``ArchiveError`` naming `bundle` and the entry at fault, or ``BundleError``
    ///   for a `bundle.json` that does not describe a bundle.
    @discardableResult
    public static func unpack(
        _ file: URL, into folder: URL, bundle: String, limits: UnpackLimits
    ) throws -> BundleFileSummary {
        var open: [FileStream] = []
        let summary = try BundleFileReader.read(file, bundle: bundle, limits: limits) { name in
            let stream = try FileStream.creating(folder.appending(path: name).path, bundle: bundle)
            open.append(stream)
            return stream
        }
        for stream in open { try stream.sync() }
        let sums = Array(summary.checksums.text.utf8)
        let sumsFile = try FileStream.creating(folder.appending(path: BundleChecksums.fileName).path, bundle: bundle)
        try sums.withUnsafeBytes { try sumsFile.write($0) }
        try sumsFile.sync()
        do {
            _ = try BundleDirectory(path: folder.path)
        } catch var error {
            error.bundle = bundle
            throw error
        }
        return summary
    }
}
