import BundleArchive
import Foundation
import LaunchBundle

/// Makes the folder a worker serves (`artifact` and `bundle.json`) from a bundle's POST body and
/// the bytes the client uploaded to its `location` (a local file, or an `http(s)` URL such as a
/// presigned one, downloaded), under `<state-dir>/bundles/<bundle id>/`.
struct BundleFolders: Sendable {
    /// `<state-dir>/bundles`.
    var root: URL

    /// The largest artifact downloaded from an `http(s)` location.
    static let maxDownload: UInt64 = 64 << 30

    /// Copies (or downloads) the uploaded artifact and writes the body as `bundle.json`, checked
    /// as every bundle is.
    ///
    /// - Returns: the new bundle's folder.
    /// - Throws: ``GatewayRefusal`` 400 for a location that cannot be read (s3://, a missing
    ///   file, a failed download) or a body that is not a valid bundle, saying what to give
    ///   instead.
    func make(id: String, body: [String: Any]) async throws(GatewayRefusal) -> URL {
        guard let location = body["location"] as? String else {
            throw GatewayRefusal(
                .badRequest, "location is missing: give the path or URL the bundle was uploaded to")
        }
        let source = try Self.source(location)
        let bodyJSON: Data
        do {
            bodyJSON = try JSONSerialization.data(withJSONObject: body)
            _ = try BundleMetadata(json: bodyJSON, bundle: body["bundle_name"] as? String ?? "?")
        } catch let error as BundleError {
            throw GatewayRefusal(.badRequest, "\(error)")
        } catch {
            throw GatewayRefusal(.badRequest, "the bundle's fields cannot be read: \(error)")
        }
        let folder = root.appending(path: id)
        let artifact = folder.appending(path: BundleDirectory.artifactName)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try bodyJSON.write(to: folder.appending(path: BundleDirectory.metadataName), options: .atomic)
            switch source {
            case .file(let file):
                try FileManager.default.copyItem(at: file, to: artifact)
            case .download(let url):
                let name = body["bundle_name"] as? String ?? id
                _ = try await BundleDownloader(maxSize: Self.maxDownload).download(url, to: artifact, bundle: name)
            }
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw GatewayRefusal(
                .badRequest, "the bundle cannot be read from \(location) into \(folder.path): \(error)")
        }
        return folder
    }

    /// Removes a deleted bundle's folder.
    func remove(_ folder: String) {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Where an artifact comes from.
    private enum Source {
        case file(URL)
        case download(URL)
    }

    /// What a `location` names: a local path or `file://` URL (which must be a file), or an
    /// `http(s)://` URL.
    private static func source(_ location: String) throws(GatewayRefusal) -> Source {
        let file: URL
        if location.hasPrefix("http://") || location.hasPrefix("https://"), let url = URL(string: location) {
            return .download(url)
        } else if location.hasPrefix("file://") {
            guard let url = URL(string: location), url.isFileURL else {
                throw GatewayRefusal(.badRequest, "location \(location) is not a valid file:// URL")
            }
            file = url
        } else if location.hasPrefix("/") {
            file = URL(filePath: location)
        } else {
            let scheme = location.split(separator: ":", maxSplits: 1).first.map(String.init) ?? location
            throw GatewayRefusal(
                .badRequest,
                "location \(location) cannot be read by this gateway (\(scheme) is not supported): upload the bundle to a "
                    + "local absolute path, a file:// URL or an http(s):// URL the gateway can download (self_hosted=True "
                    + "with a bundle_location_fn that returns one and an upload_bundle_fn that writes the bytes there; "
                    + "for S3, a presigned https:// URL)")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw GatewayRefusal(
                .badRequest,
                "location \(location) is not a file: upload_bundle_fn must write the bundle's bytes there before the bundle is created"
            )
        }
        return .file(file)
    }
}
